"""TREC formats: qrels, runs (TREC or MS MARCO style), and SGML documents and topics.

Scores are kept as float64 here; ``contracts.write`` casts to the contract's float32.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from dualrank.data.formats.lines import (
    CHUNK_ROWS,
    INT8,
    LineError,
    check_unique,
    concat,
    frame,
    iter_chunks,
    iter_lines,
    parse_float,
    parse_int,
    split_fields,
)
from dualrank.data.io import InputError


def _parse_qrel(line: str) -> tuple:
    qid, _iteration, docid, rel = split_fields(
        line, 4, "query_id, iteration, doc_id, relevance", sep=None
    )
    return qid, docid, parse_int(rel, "relevance", *INT8)


def read_qrels(path: str | Path) -> pd.DataFrame:
    """TREC qrels ``qid iter docid rel`` (whitespace: TREC's spaces or MS MARCO's tabs)."""
    df = concat(
        iter_chunks(
            path,
            _parse_qrel,
            ["query_id", "doc_id", "relevance"],
            {"query_id": "str", "doc_id": "str", "relevance": "int8"},
            CHUNK_ROWS,
        )
    )
    check_unique(df, ["query_id", "doc_id"], path)
    return df


_RUN_DTYPES = {"query_id": "str", "doc_id": "str", "score": "float64", "rank": "int32"}


def iter_run(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A run file as run chunks; the format is fixed by the first line.

    * TREC: ``qid Q0 docid rank score tag`` (6 whitespace-separated fields);
    * MS MARCO: ``qid<TAB>pid<TAB>rank`` (3 fields, no score): the score is set to ``-rank`` so
      that sorting by score reproduces the file's ranking (the official MS MARCO evaluation
      ranks by the rank column).
    """
    state: dict[str, int] = {}

    def parse(line: str) -> tuple:
        parts = line.split()
        n = state.setdefault("n", len(parts))
        if n not in (3, 6):
            raise LineError(
                f"expected a TREC run line 'qid Q0 docid rank score tag' (6 fields) or an "
                f"MS MARCO run line 'qid pid rank' (3 fields), found {len(parts)} fields"
            )
        if len(parts) != n:
            fmt = "TREC (6 fields)" if n == 6 else "MS MARCO (3 fields)"
            raise LineError(f"expected {n} fields like the first line ({fmt}), found {len(parts)}")
        if n == 6:
            qid, _q0, docid, rank, score, _tag = parts
            return qid, docid, parse_float(score, "score"), parse_int(rank, "rank", 0, 2**31 - 1)
        qid, docid, rank = parts
        rank_i = parse_int(rank, "rank", 0, 2**31 - 1)
        return qid, docid, float(-rank_i), rank_i

    return iter_chunks(
        path, parse, ["query_id", "doc_id", "score", "rank"], _RUN_DTYPES, chunk_rows
    )


def read_run(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    df = concat(iter_run(path, chunk_rows))
    check_unique(df, ["query_id", "doc_id"], path)
    return df


# SGML records (CACM topics, Vaswani/NPL documents and topics)
_OPEN = re.compile(r"^\s*<(DOC|top)>\s*$", re.IGNORECASE)
_CLOSE = re.compile(r"^\s*</(DOC|top)>\s*$", re.IGNORECASE)
_ID = re.compile(r"<(DOCNO|num)>\s*(?:Number:)?\s*([^<\s]+)\s*(?:</\1>)?", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*>")


def read_trec_sgml(path: str | Path, kind: str = "corpus") -> pd.DataFrame:
    """``<DOC><DOCNO>id</DOCNO> text </DOC>`` or ``<top><num>id</num><title> text ...</top>``
    records as a corpus (``kind="corpus"``) or queries table; the text is every other line of
    the record with tags removed and whitespace collapsed."""
    id_col = {"corpus": "doc_id", "queries": "query_id"}.get(kind)
    if id_col is None:
        raise InputError(f"read_trec_sgml: kind must be 'corpus' or 'queries', not {kind!r}")
    rows, lines = [], []
    start = 0
    body: list[str] = []
    for line_no, line in iter_lines(path):
        if _OPEN.match(line):
            if start:
                raise InputError(f"{path}:{line_no}: record opened inside the one of line {start}")
            start, body = line_no, []
        elif _CLOSE.match(line):
            if not start:
                raise InputError(f"{path}:{line_no}: closing tag outside a record")
            text = "\n".join(body)
            m = _ID.search(text)
            if m is None:
                raise InputError(f"{path}:{start}: record without <DOCNO> or <num>")
            text = _TAG.sub(" ", text[: m.start()] + " " + text[m.end() :])
            rows.append((m.group(2), " ".join(text.split())))
            lines.append(start)
            start = 0
        elif start:
            body.append(line)
        elif line.strip():
            raise InputError(f"{path}:{line_no}: text outside a record")
    if start:
        raise InputError(f"{path}:{start}: record not closed at end of file")
    df = frame(rows, lines, [id_col, "text"], {id_col: "str", "text": "str"})
    check_unique(df, [id_col], path)
    return df
