"""``python -m dualrank.data.convert KIND INPUT OUTPUT``: an upstream text file -> Parquet contract.

KIND is ``collection`` (MS MARCO ``pid<TAB>text``; streamed, so the 8.8M-passage collection
never sits in memory whole), ``queries`` (``qid<TAB>text``), ``qrels`` (TREC / MS MARCO qrels),
``run`` (TREC or MS MARCO run) or ``cacm-html`` (a ``.tar.gz`` of HTML pages, Anserini's
``HtmlCollection`` such as ``cacm.tar.gz``, to a corpus: :func:`readers.read_cacm_html`).
The output is written atomically (temporary file beside it, then rename), so a killed job
leaves no partial table. Bad input: the message (``path:line: what``) on stderr and exit
code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.data import readers

KINDS = {
    "collection": "corpus",
    "queries": "queries",
    "qrels": "qrels",
    "run": "run",
    "cacm-html": "corpus",
}


def write_chunks(chunks: Iterable[pd.DataFrame], path: str | Path, kind: str) -> Path:
    """Write DataFrame chunks as one ``kind`` Parquet table, atomically."""
    sch = contracts.schema(kind)
    out, tmp = contracts.atomic_path(path)
    try:
        with pq.ParquetWriter(tmp, sch) as writer:
            for chunk in chunks:
                writer.write_table(contracts.to_table(chunk, kind, where=str(path)))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _unique_collection(path: Path, chunk_rows: int) -> Iterable[pd.DataFrame]:
    """The collection's chunks, refusing a doc id seen before (in any earlier chunk)."""
    seen: set[str] = set()
    for chunk in readers.iter_collection(path, chunk_rows):
        ids = chunk["doc_id"].tolist()
        new = set(ids)
        if len(new) != len(ids) or not seen.isdisjoint(new):
            readers._check_unique(chunk, ["doc_id"], path)  # names both lines if within chunk
            line = next(i for i, d in zip(chunk.index, ids) if d in seen)
            raise InputError(f"{path}:{line}: duplicate doc_id {chunk.loc[line, 'doc_id']!r}")
        seen |= new
        yield chunk


def convert(
    kind: str, source: str | Path, output: str | Path, chunk_rows: int = readers.CHUNK_ROWS
) -> Path:
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose from {sorted(KINDS)}")
    source = Path(source)
    if kind == "collection":
        return write_chunks(_unique_collection(source, chunk_rows), output, "corpus")
    if kind == "cacm-html":
        return contracts.write(readers.read_cacm_html(source), output, "corpus")
    table = readers.load(source, KINDS[kind])
    return contracts.write(table, output, KINDS[kind])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dualrank.data.convert",
        description="Convert an upstream text file to its Parquet contract.",
    )
    p.add_argument("kind", choices=sorted(KINDS))
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    args = p.parse_args(argv)
    try:
        out = convert(args.kind, args.input, args.output)
    except InputError as e:
        print(f"convert: error: {e}", file=sys.stderr)
        return 2
    n = pq.ParquetFile(out).metadata.num_rows
    print(f"{out}: {n} rows ({KINDS[args.kind]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
