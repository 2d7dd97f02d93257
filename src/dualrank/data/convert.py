"""One upstream text file -> one Parquet contract table (``dualrank convert KIND INPUT OUTPUT``).

KIND is ``collection`` (MS MARCO ``pid<TAB>text``; streamed, so the 8.8M-passage collection
never sits in memory whole), ``queries`` (``qid<TAB>text``), ``qrels`` (TREC / MS MARCO qrels),
``run`` (TREC or MS MARCO run) or ``cacm-html`` (a ``.tar.gz`` of HTML pages, Anserini's
``HtmlCollection`` such as ``cacm.tar.gz``, to a corpus: :func:`readers.read_cacm_html`).
The output is written atomically, so a killed job leaves no partial table.
"""

from __future__ import annotations

from pathlib import Path

from dualrank.data import contracts, readers
from dualrank.data.io import InputError

#: KIND -> the contract table it becomes.
KINDS = {
    "collection": "corpus",
    "queries": "queries",
    "qrels": "qrels",
    "run": "run",
    "cacm-html": "corpus",
}


def convert(
    kind: str, source: str | Path, output: str | Path, chunk_rows: int = readers.CHUNK_ROWS
) -> Path:
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose from {sorted(KINDS)}")
    source = Path(source)
    if kind == "collection":
        return contracts.write_chunks(readers.iter_unique_collection(source, chunk_rows), output, "corpus")
    if kind == "cacm-html":
        return contracts.write(readers.read_cacm_html(source), output, "corpus")
    table = readers.load(source, KINDS[kind])
    return contracts.write(table, output, KINDS[kind])
