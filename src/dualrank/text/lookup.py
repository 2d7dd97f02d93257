"""Id -> text lookups from the corpus and queries contracts, loading only the ids needed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data.contracts import to_table
from dualrank.data.io import InputError


def load_texts(path: str | Path, kind: str, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Map id -> text for a corpus or queries table; with ``ids``, every id must be present."""
    id_col = {"corpus": "doc_id", "queries": "query_id"}[kind]
    table = to_table(pq.read_table(path), kind, where=str(path))
    if ids is not None:
        wanted = pa.array(sorted(set(ids)), pa.string())
        table = table.filter(pc.is_in(table.column(id_col), value_set=wanted))
        found = set(table.column(id_col).to_pylist())
        missing = [i for i in wanted.to_pylist() if i not in found]
        if missing:
            raise InputError(
                f"{path}: {len(missing)} {id_col}(s) referenced downstream are not in this {kind} "
                f"table, first {missing[0]!r}"
            )
    return dict(zip(table.column(id_col).to_pylist(), table.column("text").to_pylist()))
