"""Readers of the real upstream formats, returning DataFrames in the contract's columns.

The public front of :mod:`dualrank.data.formats` (one module per format family), and
:func:`load`, which reads a table from its Parquet contract file or its upstream text format.
Formats (samples of each under ``shared/data``):

========================  =====================================================  ===========
reader                    format                                                 contract
========================  =====================================================  ===========
``read_collection``       MS MARCO ``collection.tsv``: ``pid<TAB>text``          corpus
``read_dpr_passages``     DPR ``psgs_w100.tsv``: header, ``id<TAB>text<TAB>title`` corpus
``read_queries``          MS MARCO / TREC DL queries: ``qid<TAB>text``           queries
``read_nq_topics``        Pyserini DPR topics: ``question<TAB>['answer', ...]``  queries
``read_qrels``            TREC ``qid iter docid rel`` (space or tab separated)   qrels
``read_run``              TREC ``qid Q0 docid rank score tag``, or MS MARCO      run
                          ``qid<TAB>pid<TAB>rank`` (score := -rank)
``read_top1000``          MS MARCO ``qid<TAB>pid<TAB>query<TAB>passage``         run
``read_triples``          ``triples.train.small.tsv``: query, pos, neg (text)    --
``read_teacher_scores``   Hofstaetter et al. ``pos neg qid pos_pid neg_pid``     (pairs)
``read_dpr_json``         DPR biencoder JSON (question, *_ctxs)                  several
``read_trec_sgml``        ``<DOC><DOCNO>`` / ``<top><num>`` files (CACM, NPL)    corpus/queries
``read_cacm_html``        ``.tar.gz`` of HTML pages (Anserini HtmlCollection)    corpus
========================  =====================================================  ===========

Every line-based reader decodes each line strictly as UTF-8 and raises
:class:`~dualrank.data.io.InputError` as ``path:line_no: what is wrong`` on any malformed line
(:mod:`dualrank.data.formats.lines`); its DataFrame has an index named ``line`` holding the
1-based source line of each row, which :func:`check_ids` uses to point at the offending line.

Big files are streamed: the ``iter_*`` functions yield DataFrame chunks of ``chunk_rows`` rows,
and the matching ``read_*`` function concatenates them (and checks for duplicate ids, which
needs the whole table). Scores are kept as float64 here; ``contracts.write`` casts to the
contract's float32.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from dualrank.data import contracts
from dualrank.data.formats.cacm import html_text, read_cacm_html
from dualrank.data.formats.dpr import (
    TITLE_SEP,
    DprData,
    iter_dpr_json,
    iter_dpr_passages,
    read_dpr_json,
    read_dpr_passages,
    read_nq_topics,
)
from dualrank.data.formats.json_stream import iter_json_array
from dualrank.data.formats.lines import CHUNK_ROWS, check_ids, iter_lines
from dualrank.data.formats.msmarco import (
    iter_collection,
    iter_teacher_scores,
    iter_triples,
    iter_unique_collection,
    read_collection,
    read_queries,
    read_teacher_scores,
    read_top1000,
    read_triples,
    teacher_pairs,
)
from dualrank.data.formats.trec import iter_run, read_qrels, read_run, read_trec_sgml
from dualrank.data.io import InputError

__all__ = [
    "CHUNK_ROWS", "TITLE_SEP", "DprData", "check_ids", "html_text", "iter_collection",
    "iter_dpr_json", "iter_dpr_passages", "iter_json_array", "iter_lines", "iter_run",
    "iter_teacher_scores", "iter_triples", "iter_unique_collection", "load", "read_cacm_html",
    "read_collection", "read_dpr_json", "read_dpr_passages", "read_nq_topics", "read_qrels",
    "read_queries", "read_run", "read_teacher_scores", "read_top1000", "read_trec_sgml",
    "read_triples", "teacher_pairs",
]

_TEXT_READERS: dict[str, Callable[[str | Path], pd.DataFrame]] = {
    "corpus": read_collection,
    "queries": read_queries,
    "qrels": read_qrels,
    "run": read_run,
}


def load(path: str | Path, kind: str) -> pd.DataFrame:
    """A ``kind`` table from a Parquet contract file (``.parquet``) or its upstream text format."""
    if Path(path).suffix == ".parquet":
        return contracts.read(path, kind)
    if kind not in _TEXT_READERS:
        raise InputError(f"{path}: no text reader for {kind!r} tables; give a .parquet file")
    return _TEXT_READERS[kind](path)
