"""Row numbers of a corpus's or queries table's ids, held compactly.

A pandas Index of ids as Python strings costs a string, a pointer and a hash-table entry per
id: for MS MARCO's 8.8M passage ids (NQ's 21M), several times the memory and the time of the
int64 form below (measured in docs/scale.md), in every job that opens the corpus. Their ids
are decimal integers, so when every id of a table is one written canonically (``0`` or no leading zero, at most 18
digits: the text <-> int64 mapping is one to one), :class:`IdIndex` keeps them as int64 and
looks ids up by binary search in a sorted copy (20 bytes an id, no string is ever made).
Any other table (e.g. the demo's synthetic ids ``d193``) keeps the string Index. Either way the
answers are those of ``pd.Index(ids)``: the position of an id, -1 (``get_indexer``) or KeyError
(``get_loc``) for an id absent from the table, ``"7"`` and ``"007"`` two different ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CANONICAL = r"^(0|[1-9][0-9]{0,17})$"  # RE2 (pyarrow): $ is the end of the text
_SCALAR = re.compile(r"0|[1-9][0-9]{0,17}")  # the same, for re.fullmatch


def _as_ints(ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 values, mask of the ids written canonically); non-canonical ones hold 0."""
    ok = pc.fill_null(pc.match_substring_regex(ids, CANONICAL), False)
    values = pc.cast(pc.if_else(ok, ids, pa.scalar("0")), pa.int64())
    return values.to_numpy(zero_copy_only=False), ok.to_numpy(zero_copy_only=False)


class IdIndex:
    """Positions of ids, as ``pd.Index(ids)`` answers them (module doc)."""

    def __init__(self, ids: pa.Array | pa.ChunkedArray):
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        ids = ids.cast(pa.string())
        self._n = len(ids)
        self._strings = None
        values, ok = _as_ints(ids)
        if self._n and ok.all():
            order = np.argsort(values, kind="stable")
            self._order = order.astype(np.int32) if self._n < 2**31 else order
            self._sorted, self._values = values[self._order], values
            if not (self._sorted[1:] == self._sorted[:-1]).any():
                return
            del self._order, self._sorted, self._values
        # Ids that are not all canonical integers, or repeat (pandas then refuses lookups, as before).
        self._strings = pd.Index(ids.to_pylist(), dtype=object)

    @property
    def compact(self) -> bool:
        return self._strings is None

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        if self._strings is not None:
            return iter(self._strings)
        return (str(v) for v in self._values.tolist())

    def get_indexer(self, keys) -> np.ndarray:
        """The position of each key (a sequence of strings), -1 where it is not an id here."""
        keys = np.asarray(keys, dtype=object).ravel()
        if self._strings is not None:
            return self._strings.get_indexer(keys)
        out = np.full(len(keys), -1, dtype=np.int64)
        try:
            text = pa.array(keys, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a key that is not a string is no id
            text = pa.array([k if isinstance(k, str) else None for k in keys], pa.string())
        values, ok = _as_ints(text)
        if not ok.any():
            return out
        at = np.searchsorted(self._sorted, values[ok])
        found = np.zeros(len(at), dtype=bool)
        inside = at < self._n
        found[inside] = self._sorted[at[inside]] == values[ok][inside]
        rows = np.full(len(at), -1, dtype=np.int64)
        rows[found] = self._order[at[found]]
        out[ok] = rows
        return out

    def get_loc(self, key) -> int:
        """The position of ``key``; KeyError if it is not an id here."""
        if self._strings is not None:
            return self._strings.get_loc(key)
        if isinstance(key, str) and _SCALAR.fullmatch(key):
            at = int(np.searchsorted(self._sorted, int(key)))
            if at < self._n and self._sorted[at] == int(key):
                return int(self._order[at])
        raise KeyError(key)

    def take(self, rows) -> np.ndarray:
        """The ids at ``rows`` (an object array of strings)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._strings is not None:
            return self._strings.take(rows).to_numpy()
        return self._values[rows].astype(str).astype(object)
