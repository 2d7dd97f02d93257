"""DPR's Natural Questions files: ``psgs_w100.tsv`` passages, Pyserini's DPR topics, and the
biencoder JSON (``biencoder-nq-{train,dev}.json``: questions with positive, hard negative and
random negative contexts), streamed question chunk by question chunk.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dualrank.data.formats.json_stream import iter_json_array
from dualrank.data.formats.lines import (
    CHUNK_ROWS,
    LineError,
    check_unique,
    concat,
    iter_chunks,
    iter_lines,
    parse_id,
    split_fields,
)
from dualrank.data.io import InputError

#: Joins a passage's title and text into the corpus contract's single ``text`` field.
TITLE_SEP = " "


def _unquote_dpr(text: str) -> str:
    # psgs_w100.tsv was written with csv (tab delimiter): fields holding a quote are wrapped in
    # quotes with inner quotes doubled (DPR's own reader strips them the same way).
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text


def iter_dpr_passages(
    path: str | Path, chunk_rows: int = CHUNK_ROWS, title_sep: str = TITLE_SEP
) -> Iterator[pd.DataFrame]:
    """DPR ``psgs_w100.tsv`` (header ``id text title``) as corpus chunks, title prepended."""
    for line_no, line in iter_lines(path):
        if line.split("\t") != ["id", "text", "title"]:
            raise InputError(f"{path}:{line_no}: expected the header 'id<TAB>text<TAB>title'")
        break

    def parse(line: str) -> tuple:
        pid, text, title = split_fields(line, 3, "id, text, title")
        title = _unquote_dpr(title)
        text = _unquote_dpr(text)
        return parse_id(pid, "passage id"), f"{title}{title_sep}{text}" if title else text

    columns, dtypes = ["doc_id", "text"], {"doc_id": "str", "text": "str"}
    return iter_chunks(path, parse, columns, dtypes, chunk_rows, skip_lines=1)


def read_dpr_passages(path: str | Path, chunk_rows: int = CHUNK_ROWS, title_sep=TITLE_SEP):
    df = concat(iter_dpr_passages(path, chunk_rows, title_sep))
    check_unique(df, ["doc_id"], path)
    return df


def read_nq_topics(path: str | Path) -> pd.DataFrame:
    """Pyserini's DPR topics (``question<TAB>['answer', ...]``).

    Returns ``query_id, text, answers``; the query id is the 0-based position in the file, the
    convention of Pyserini's ``dpr-nq-{dev,test}`` topics (and of :func:`read_dpr_json`).
    """

    def parse(line: str) -> tuple:
        question, answers = split_fields(line, 2, "question, answers")
        question = _unquote_dpr(question)
        if not question.strip():
            raise LineError("empty question")
        try:
            # csv-quoted when an answer holds a double quote: "['a', ""b\"c""]"
            answers = ast.literal_eval(_unquote_dpr(answers))
        except (ValueError, SyntaxError):
            raise LineError(f"answers {answers[:60]!r} is not a Python list literal") from None
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise LineError("answers is not a list of strings")
        return question, answers

    df = concat(iter_chunks(path, parse, ["text", "answers"], {"text": "str"}, CHUNK_ROWS))
    df.insert(0, "query_id", pd.Series([str(i) for i in range(len(df))], index=df.index))
    return df.astype({"query_id": "str"})


@dataclass
class DprData:
    """One DPR biencoder file in contract form.

    queries: query_id, text; answers: query_id, answers (list of str);
    corpus: doc_id, text (title + TITLE_SEP + text; every passage met, deduplicated);
    qrels: positives as relevance 1; pairs: positives (label 1) and hard negatives (label 0)
    (and the random ``negative_ctxs`` when asked), teacher_score null.
    """

    queries: pd.DataFrame
    answers: pd.DataFrame
    corpus: pd.DataFrame
    qrels: pd.DataFrame
    pairs: pd.DataFrame

    FIELDS = ("queries", "answers", "corpus", "qrels", "pairs")

    @classmethod
    def concat(cls, parts: list[DprData]) -> DprData:
        """The parts' tables one after the other (the corpus is not deduplicated here)."""
        return cls(*(pd.concat([getattr(p, n) for p in parts], ignore_index=True) for n in cls.FIELDS))


_CTX_KEYS = ("positive_ctxs", "negative_ctxs", "hard_negative_ctxs")


def _dpr_ctx(path, line_no, index, key, j, ctx, title_sep) -> tuple[str, str]:
    where = f"{path}:{line_no}: record {index} {key}[{j}]"
    if not isinstance(ctx, dict):
        raise InputError(f"{where}: expected an object")
    pid = ctx.get("passage_id", ctx.get("psg_id"))
    if pid is None or str(pid).strip() == "":
        raise InputError(f"{where}: missing 'passage_id'")
    text = ctx.get("text")
    if not isinstance(text, str):
        raise InputError(f"{where}: missing or non-string 'text'")
    title = ctx.get("title") or ""
    if not isinstance(title, str):
        raise InputError(f"{where}: non-string 'title'")
    return str(pid).strip(), f"{title}{title_sep}{text}" if title else text


def _check_record(rec, where: str) -> None:
    if not isinstance(rec, dict):
        raise InputError(f"{where}: expected an object")
    question = rec.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: missing or empty 'question'")
    for key in _CTX_KEYS:
        if not isinstance(rec.get(key, []), list):
            raise InputError(f"{where}: {key!r} is not a list")
    if "positive_ctxs" not in rec:
        raise InputError(f"{where}: missing 'positive_ctxs'")
    if not isinstance(rec.get("answers", []), list):
        raise InputError(f"{where}: 'answers' is not a list")


class _Chunk:
    """The rows of the questions read since the last flush."""

    def __init__(self) -> None:
        self.queries, self.answers, self.corpus, self.qrels, self.pairs = [], [], [], [], []

    def flush(self) -> DprData:
        return DprData(
            queries=pd.DataFrame(self.queries, columns=["query_id", "text"], dtype="str"),
            answers=pd.DataFrame(self.answers, columns=["query_id", "answers"]),
            corpus=pd.DataFrame(self.corpus, columns=["doc_id", "text"], dtype="str")
            .drop_duplicates("doc_id")
            .reset_index(drop=True),
            qrels=pd.DataFrame(self.qrels, columns=["query_id", "doc_id", "relevance"])
            .drop_duplicates(["query_id", "doc_id"])
            .astype({"query_id": "str", "doc_id": "str", "relevance": "int8"})
            .reset_index(drop=True),
            pairs=pd.DataFrame(self.pairs, columns=["query_id", "doc_id", "label"])
            .drop_duplicates(["query_id", "doc_id"])  # first wins: a positive stays label 1
            .astype({"query_id": "str", "doc_id": "str", "label": "int8"})
            .assign(teacher_score=pd.Series(dtype="float32"))
            .reset_index(drop=True),
        )


def iter_dpr_json(
    path: str | Path,
    chunk_questions: int = 1000,
    include_random_negatives: bool = False,
    title_sep: str = TITLE_SEP,
    query_prefix: str = "",
) -> Iterator[DprData]:
    """Stream a DPR biencoder JSON file as :class:`DprData` chunks of ``chunk_questions``.

    The query id is ``query_prefix`` + the 0-based position of the question in the file (the
    files carry no ids; Pyserini's ``dpr-nq-*`` topics number questions the same way).
    """
    keys = [("positive_ctxs", 1), ("hard_negative_ctxs", 0)]
    if include_random_negatives:
        keys.append(("negative_ctxs", 0))
    chunk = _Chunk()
    index = -1
    for index, (line_no, rec) in enumerate(iter_json_array(path)):
        _check_record(rec, f"{path}:{line_no}: record {index}")
        qid = f"{query_prefix}{index}"
        chunk.queries.append((qid, rec["question"]))
        chunk.answers.append((qid, [str(a) for a in rec.get("answers", [])]))
        for key, label in keys:
            for j, ctx in enumerate(rec.get(key, [])):
                pid, text = _dpr_ctx(path, line_no, index, key, j, ctx, title_sep)
                chunk.corpus.append((pid, text))
                chunk.pairs.append((qid, pid, label))
                if label:
                    chunk.qrels.append((qid, pid, 1))
        if len(chunk.queries) >= chunk_questions:
            yield chunk.flush()
            chunk = _Chunk()
    if chunk.queries or index < 0:
        yield chunk.flush()


def read_dpr_json(path: str | Path, **kwargs) -> DprData:
    """The whole DPR file (see :func:`iter_dpr_json`), corpus deduplicated across chunks."""
    data = DprData.concat(list(iter_dpr_json(path, **kwargs)))
    data.corpus = data.corpus.drop_duplicates("doc_id").reset_index(drop=True)
    return data
