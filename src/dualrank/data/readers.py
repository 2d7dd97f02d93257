"""Readers of the real upstream formats, returning DataFrames in the contract's columns.

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
``read_triples``          ``triples.train.small.tsv``: query, pos, neg (text)    --
``read_teacher_scores``   Hofstaetter et al. ``pos neg qid pos_pid neg_pid``     (pairs)
``read_dpr_json``         DPR biencoder JSON (question, *_ctxs)                  several
``read_trec_sgml``        ``<DOC><DOCNO>`` / ``<top><num>`` files (CACM, NPL)    corpus/queries
``read_cacm_html``        ``.tar.gz`` of HTML pages (Anserini HtmlCollection)    corpus
========================  =====================================================  ===========

Every line-based reader reads bytes and decodes each line strictly as UTF-8 (a leading BOM is
dropped; ``\\n`` and ``\\r\\n`` endings are accepted; ``.gz`` files are read through gzip), so
that any malformed line -- a missing field, an invalid UTF-8 byte, a non-integer grade, a blank
line -- raises :class:`~dualrank.data.io.InputError` as ``path:line_no: what is wrong``. The
DataFrames they return have the contract's columns and an index named ``line`` holding the
1-based source line of each row, which :func:`check_ids` uses to point at the offending line.

Big files are streamed: the ``iter_*`` functions yield DataFrame chunks of ``chunk_rows`` rows,
and the matching ``read_*`` function concatenates them (and checks for duplicate ids, which
needs the whole table). Scores are kept as float64 here; ``contracts.write`` casts to the
contract's float32.
"""

from __future__ import annotations

import ast
import codecs
import gzip
import json
import math
import re
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import InputError

CHUNK_ROWS = 200_000
#: Joins a passage's title and text into the corpus contract's single ``text`` field.
TITLE_SEP = " "

_INT8 = (-128, 127)


class _LineError(Exception):
    """A problem with one line; the reader loop adds ``path:line_no``."""


# --------------------------------------------------------------------------------------------
# Lines


def _open_binary(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _bad_utf8(path, line_no: int, raw: bytes, err: UnicodeDecodeError) -> InputError:
    snippet = raw[max(0, err.start - 10) : err.end + 10]
    return InputError(
        f"{path}:{line_no}: invalid UTF-8 at byte {err.start} of the line ({err.reason}; "
        f"near {snippet!r})"
    )


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, text)`` for each line, decoded strictly as UTF-8, without its ending."""
    with _open_binary(path) as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _bad_utf8(path, line_no, raw, e) from None
            if line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            if line_no == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line_no, line


def _iter_chunks(
    path: str | Path,
    parse: Callable[[str], tuple | None],
    columns: list[str],
    dtypes: dict[str, str],
    chunk_rows: int,
    skip_lines: int = 0,
) -> Iterator[pd.DataFrame]:
    """Parse every line with ``parse`` (which raises _LineError) into DataFrame chunks."""
    rows: list[tuple] = []
    lines: list[int] = []
    for line_no, line in iter_lines(path):
        if line_no <= skip_lines:
            continue
        if not line.strip():
            raise InputError(f"{path}:{line_no}: empty line")
        try:
            row = parse(line)
        except _LineError as e:
            raise InputError(f"{path}:{line_no}: {e}") from None
        rows.append(row)
        lines.append(line_no)
        if len(rows) >= chunk_rows:
            yield _frame(rows, lines, columns, dtypes)
            rows, lines = [], []
    if rows or not lines:
        yield _frame(rows, lines, columns, dtypes)


def _frame(rows, lines, columns, dtypes) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=columns)
    df.index = pd.Index(lines, dtype="int64", name="line")
    return df.astype(dtypes) if dtypes else df


def _concat(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    chunks = list(chunks)
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks)


def _check_unique(df: pd.DataFrame, keys: list[str], path) -> None:
    dup = df.duplicated(keys)
    if dup.any():
        pos = int(dup.to_numpy().argmax())
        row = df.iloc[pos]
        same = (df[keys] == row[keys]).all(axis=1).to_numpy()
        first = df.index[same.argmax()]
        what = ", ".join(f"{k} {row[k]!r}" for k in keys)
        raise InputError(
            f"{path}:{df.index[pos]}: duplicate {what} (first on line {first}); "
            f"{int(dup.sum())} duplicate rows in all"
        )


def _id(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise _LineError(f"empty {what}")
    if len(value.split()) != 1:
        raise _LineError(f"{what} {value!r} contains whitespace")
    return value


def _int(value: str, what: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        x = int(value)
    except ValueError:
        raise _LineError(f"{what} {value!r} is not an integer") from None
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise _LineError(f"{what} {x} out of range [{lo}, {hi}]")
    return x


def _float(value: str, what: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise _LineError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise _LineError(f"{what} {value!r} is not finite")
    return x


def _fields(line: str, n: int, names: str, sep: str | None = "\t") -> list[str]:
    parts = line.split(sep)
    if len(parts) != n:
        kind = "tab" if sep == "\t" else "whitespace"
        raise _LineError(f"expected {n} {kind}-separated fields ({names}), found {len(parts)}")
    return parts


# --------------------------------------------------------------------------------------------
# Corpus and queries


def _id_text(what: str, allow_empty_text: bool) -> Callable[[str], tuple]:
    def parse(line: str) -> tuple:
        ident, text = _fields(line, 2, f"{what}_id, text")
        if not allow_empty_text and not text.strip():
            raise _LineError(f"empty text for {what}_id {ident.strip()!r}")
        return _id(ident, f"{what}_id"), text

    return parse


_STR2 = {"doc_id": "str", "text": "str"}


def iter_collection(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """MS MARCO ``collection.tsv`` (``pid<TAB>text``) as corpus chunks. Empty text is allowed."""
    return _iter_chunks(path, _id_text("doc", True), ["doc_id", "text"], _STR2, chunk_rows)


def read_collection(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    df = _concat(iter_collection(path, chunk_rows))
    _check_unique(df, ["doc_id"], path)
    return df


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
        pid, text, title = _fields(line, 3, "id, text, title")
        title = _unquote_dpr(title)
        text = _unquote_dpr(text)
        return _id(pid, "passage id"), f"{title}{title_sep}{text}" if title else text

    return _iter_chunks(path, parse, ["doc_id", "text"], _STR2, chunk_rows, skip_lines=1)


def read_dpr_passages(path: str | Path, chunk_rows: int = CHUNK_ROWS, title_sep=TITLE_SEP):
    df = _concat(iter_dpr_passages(path, chunk_rows, title_sep))
    _check_unique(df, ["doc_id"], path)
    return df


def read_queries(path: str | Path) -> pd.DataFrame:
    """MS MARCO / TREC DL queries (``qid<TAB>text``) as a queries table."""
    df = _concat(
        _iter_chunks(
            path,
            _id_text("query", False),
            ["query_id", "text"],
            {"query_id": "str", "text": "str"},
            CHUNK_ROWS,
        )
    )
    _check_unique(df, ["query_id"], path)
    return df


def read_nq_topics(path: str | Path) -> pd.DataFrame:
    """Pyserini's DPR topics (``question<TAB>['answer', ...]``).

    Returns ``query_id, text, answers``; the query id is the 0-based position in the file, the
    convention of Pyserini's ``dpr-nq-{dev,test}`` topics (and of :func:`read_dpr_json`).
    """

    def parse(line: str) -> tuple:
        question, answers = _fields(line, 2, "question, answers")
        question = _unquote_dpr(question)
        if not question.strip():
            raise _LineError("empty question")
        try:
            # csv-quoted when an answer holds a double quote: "['a', ""b\"c""]"
            answers = ast.literal_eval(_unquote_dpr(answers))
        except (ValueError, SyntaxError):
            raise _LineError(f"answers {answers[:60]!r} is not a Python list literal") from None
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise _LineError("answers is not a list of strings")
        return question, answers

    df = _concat(_iter_chunks(path, parse, ["text", "answers"], {"text": "str"}, CHUNK_ROWS))
    df.insert(0, "query_id", pd.Series([str(i) for i in range(len(df))], index=df.index))
    return df.astype({"query_id": "str"})


# --------------------------------------------------------------------------------------------
# Qrels and runs


def _parse_qrel(line: str) -> tuple:
    qid, _iteration, docid, rel = _fields(
        line, 4, "query_id, iteration, doc_id, relevance", sep=None
    )
    return qid, docid, _int(rel, "relevance", *_INT8)


def read_qrels(path: str | Path) -> pd.DataFrame:
    """TREC qrels ``qid iter docid rel`` (whitespace: TREC's spaces or MS MARCO's tabs)."""
    df = _concat(
        _iter_chunks(
            path,
            _parse_qrel,
            ["query_id", "doc_id", "relevance"],
            {"query_id": "str", "doc_id": "str", "relevance": "int8"},
            CHUNK_ROWS,
        )
    )
    _check_unique(df, ["query_id", "doc_id"], path)
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
            raise _LineError(
                f"expected a TREC run line 'qid Q0 docid rank score tag' (6 fields) or an "
                f"MS MARCO run line 'qid pid rank' (3 fields), found {len(parts)} fields"
            )
        if len(parts) != n:
            fmt = "TREC (6 fields)" if n == 6 else "MS MARCO (3 fields)"
            raise _LineError(f"expected {n} fields like the first line ({fmt}), found {len(parts)}")
        if n == 6:
            qid, _q0, docid, rank, score, _tag = parts
            return qid, docid, _float(score, "score"), _int(rank, "rank", 0, 2**31 - 1)
        qid, docid, rank = parts
        rank_i = _int(rank, "rank", 0, 2**31 - 1)
        return qid, docid, float(-rank_i), rank_i

    return _iter_chunks(
        path, parse, ["query_id", "doc_id", "score", "rank"], _RUN_DTYPES, chunk_rows
    )


def read_run(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    df = _concat(iter_run(path, chunk_rows))
    _check_unique(df, ["query_id", "doc_id"], path)
    return df


# --------------------------------------------------------------------------------------------
# Training data


def _parse_triple(line: str) -> tuple:
    parts = _fields(line, 3, "query, positive passage, negative passage")
    for name, value in zip(("query", "positive passage", "negative passage"), parts):
        if not value.strip():
            raise _LineError(f"empty {name}")
    return tuple(parts)


def iter_triples(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """``triples.train.small.tsv`` (text only) as chunks with ``query, positive, negative``.

    The text is returned as stored; MS MARCO's mojibake (``donât``) is left as it is.
    """
    cols = ["query", "positive", "negative"]
    return _iter_chunks(path, _parse_triple, cols, dict.fromkeys(cols, "str"), chunk_rows)


def read_triples(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    return _concat(iter_triples(path, chunk_rows))


_TEACHER_COLS = ["query_id", "pos_id", "neg_id", "pos_score", "neg_score"]


def _parse_teacher(line: str) -> tuple:
    pos, neg, qid, pos_id, neg_id = _fields(
        line, 5, "pos_score, neg_score, query_id, pos_id, neg_id", sep=None
    )
    return qid, pos_id, neg_id, _float(pos, "pos_score"), _float(neg, "neg_score")


def iter_teacher_scores(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Hofstaetter et al. (2020) teacher scores (Zenodo 4068216), one triple per line:
    ``pos_score<TAB>neg_score<TAB>query_id<TAB>pos_passage_id<TAB>neg_passage_id``."""
    dtypes = {"query_id": "str", "pos_id": "str", "neg_id": "str"}
    dtypes |= {"pos_score": "float64", "neg_score": "float64"}
    return _iter_chunks(path, _parse_teacher, _TEACHER_COLS, dtypes, chunk_rows)


def read_teacher_scores(path: str | Path, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    return _concat(iter_teacher_scores(path, chunk_rows))


def teacher_pairs(triples: pd.DataFrame) -> pd.DataFrame:
    """Teacher-score triples -> the pairs contract (label 1 for the positive, 0 for negatives).

    A (query, passage) pair met in several triples keeps the mean of its teacher scores (a
    deterministic teacher gives the same score up to float noise) and its largest label.
    """
    pos = triples[["query_id", "pos_id", "pos_score"]].set_axis(
        ["query_id", "doc_id", "teacher_score"], axis=1
    )
    neg = triples[["query_id", "neg_id", "neg_score"]].set_axis(
        ["query_id", "doc_id", "teacher_score"], axis=1
    )
    pairs = pd.concat([pos.assign(label=1), neg.assign(label=0)], ignore_index=True)
    pairs = pairs.groupby(["query_id", "doc_id"], sort=True, as_index=False).agg(
        label=("label", "max"), teacher_score=("teacher_score", "mean")
    )
    return pairs.astype({"label": "int8", "teacher_score": "float32"})[
        ["query_id", "doc_id", "label", "teacher_score"]
    ]


# --------------------------------------------------------------------------------------------
# DPR JSON (biencoder-nq-{train,dev}.json): one big JSON array, parsed as a stream


def _iter_text(path: str | Path, block: int) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, text)`` pieces of at most ``block`` bytes that never span two lines,
    decoded strictly as UTF-8 (so a bad byte is reported on its own line)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line_no = 1
    with _open_binary(path) as f:
        while True:
            raw = f.readline(block)
            final = not raw
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as e:
                raise _bad_utf8(path, line_no, raw, e) from None
            if final:
                return
            yield line_no, text
            if raw.endswith(b"\n"):
                line_no += 1


def iter_json_array(
    path: str | Path, block: int = 1 << 18, max_element: int = 1 << 26
) -> Iterator[tuple[int, object]]:
    """Yield ``(line_no, element)`` for each element of a top-level JSON array, streaming.

    ``line_no`` is the line where the element starts. Malformed JSON raises InputError with the
    line of the error; an element longer than ``max_element`` characters is refused.
    """
    decoder = json.JSONDecoder()
    pieces = _iter_text(path, block)
    buf = ""
    pos = 0
    base_line = 1  # line number of buf[0]
    eof = False

    def more() -> None:
        nonlocal buf, eof, pos, base_line
        if pos > (1 << 20):
            base_line += buf.count("\n", 0, pos)
            buf, pos = buf[pos:], 0
        got = []
        size = 0
        for _, text in pieces:
            got.append(text)
            size += len(text)
            if size >= block:
                break
        else:
            eof = True
        buf += "".join(got)

    def line_at(i: int) -> int:
        return base_line + buf.count("\n", 0, i)

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                if pos == 0 and base_line == 1 and buf[0] == "\ufeff":
                    pos = 1
                    continue
                return buf[pos]
            if eof:
                return ""
            more()

    def fail(i: int, what: str) -> InputError:
        return InputError(f"{path}:{line_at(i)}: {what}")

    if skip_ws() != "[":
        raise fail(pos, "expected a JSON array ('[')")
    pos += 1
    if skip_ws() == "]":
        pos += 1
    else:
        while True:
            skip_ws()
            start = pos
            while True:
                try:
                    element, end = decoder.raw_decode(buf, start)
                except json.JSONDecodeError as e:
                    if eof or len(buf) - start > max_element:
                        raise fail(e.pos, f"invalid JSON: {e.msg}") from None
                    more()
                    start = pos
                    continue
                if end == len(buf) and not eof:
                    more()
                    start = pos
                    continue
                break
            yield line_at(start), element
            pos = end
            c = skip_ws()
            if c == "]":
                pos += 1
                break
            if c != ",":
                raise fail(pos, f"expected ',' or ']' after an array element, found {c!r}")
            pos += 1
    if skip_ws() != "":
        raise fail(pos, "unexpected data after the JSON array")


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
    queries, answers, corpus, qrels, pairs = [], [], [], [], []

    def flush() -> DprData:
        nonlocal queries, answers, corpus, qrels, pairs
        out = DprData(
            queries=pd.DataFrame(queries, columns=["query_id", "text"], dtype="str"),
            answers=pd.DataFrame(answers, columns=["query_id", "answers"]),
            corpus=pd.DataFrame(corpus, columns=["doc_id", "text"], dtype="str")
            .drop_duplicates("doc_id")
            .reset_index(drop=True),
            qrels=pd.DataFrame(qrels, columns=["query_id", "doc_id", "relevance"])
            .drop_duplicates(["query_id", "doc_id"])
            .astype({"query_id": "str", "doc_id": "str", "relevance": "int8"})
            .reset_index(drop=True),
            pairs=pd.DataFrame(pairs, columns=["query_id", "doc_id", "label"])
            .drop_duplicates(["query_id", "doc_id"])  # first wins: a positive stays label 1
            .astype({"query_id": "str", "doc_id": "str", "label": "int8"})
            .assign(teacher_score=pd.Series(dtype="float32"))
            .reset_index(drop=True),
        )
        queries, answers, corpus, qrels, pairs = [], [], [], [], []
        return out

    index = -1
    for index, (line_no, rec) in enumerate(iter_json_array(path)):
        where = f"{path}:{line_no}: record {index}"
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
        ans = rec.get("answers", [])
        if not isinstance(ans, list):
            raise InputError(f"{where}: 'answers' is not a list")
        qid = f"{query_prefix}{index}"
        queries.append((qid, question))
        answers.append((qid, [str(a) for a in ans]))
        keys = [("positive_ctxs", 1), ("hard_negative_ctxs", 0)]
        if include_random_negatives:
            keys.append(("negative_ctxs", 0))
        for key, label in keys:
            for j, ctx in enumerate(rec.get(key, [])):
                pid, text = _dpr_ctx(path, line_no, index, key, j, ctx, title_sep)
                corpus.append((pid, text))
                pairs.append((qid, pid, label))
                if label:
                    qrels.append((qid, pid, 1))
        if len(queries) >= chunk_questions:
            yield flush()
    if queries or index < 0:
        yield flush()


def read_dpr_json(path: str | Path, **kwargs) -> DprData:
    """The whole DPR file (see :func:`iter_dpr_json`), corpus deduplicated across chunks."""
    parts = list(iter_dpr_json(path, **kwargs))
    cat = lambda name: pd.concat([getattr(p, name) for p in parts], ignore_index=True)
    data = DprData(*(cat(n) for n in ("queries", "answers", "corpus", "qrels", "pairs")))
    data.corpus = data.corpus.drop_duplicates("doc_id").reset_index(drop=True)
    return data


# --------------------------------------------------------------------------------------------
# TREC SGML (CACM topics, Vaswani/NPL documents and topics)

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
    df = _frame(rows, lines, [id_col, "text"], {id_col: "str", "text": "str"})
    _check_unique(df, [id_col], path)
    return df


# --------------------------------------------------------------------------------------------
# HTML documents in a tar archive (Anserini's HtmlCollection: CACM)

#: Elements Jsoup's ``Element.text()`` separates from their neighbours by a space (its block
#: tags, and ``br``); inline tags (``b``, ``a``, ``span``, ...) join their text to the next.
_HTML_BLOCK = frozenset(
    "address applet article aside audio blockquote body br canvas caption center col colgroup "
    "dd del details dialog dir div dl dt fieldset figcaption figure footer form frame frameset "
    "h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe ins li listing main marquee menu nav "
    "noframes noscript ol p plaintext pre section summary table tbody td template tfoot th "
    "thead title tr ul video".split()
)
#: Their content is data, not text, for Jsoup: left out of ``text()``.
_HTML_DATA = frozenset(("script", "style"))
#: What Jsoup's ``text()`` collapses to one space (``StringUtil.isActuallyWhitespace``: HTML
#: whitespace and the non-breaking space) and what it drops (zero-width space, soft hyphen).
_HTML_SPACE = re.compile("[ \t\n\f\r\u00a0]+")
_HTML_INVISIBLE = re.compile("[\u200b\u00ad]")


class _HtmlText(HTMLParser):
    """The text of an HTML page as Jsoup's ``Document.text()`` gives it: tags removed, entities
    and character references decoded (``convert_charrefs``; a bare ``&`` stays ``&``), a space
    where a block element starts or ends, comments, scripts and styles left out, runs of
    whitespace (non-breaking spaces included) collapsed to one space, zero-width spaces and
    soft hyphens dropped, the ends trimmed. (Jsoup keeps the whitespace inside ``<pre>``;
    collapsing it changes no token for a Lucene analyzer.)"""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._data_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _HTML_DATA:
            self._data_depth += 1
        if tag in _HTML_BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _HTML_DATA:
            self._data_depth = max(0, self._data_depth - 1)
        if tag in _HTML_BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._data_depth:
            self.parts.append(data)

    def text(self) -> str:
        text = _HTML_INVISIBLE.sub("", "".join(self.parts))
        return _HTML_SPACE.sub(" ", text).strip(" ")


def html_text(html: str) -> str:
    """The text content of an HTML document, as Jsoup's ``Jsoup.parse(html).text()``."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


def read_cacm_html(path: str | Path) -> pd.DataFrame:
    """A ``.tar.gz`` of HTML files (Anserini's ``HtmlCollection``, as ``cacm.tar.gz``: one
    ``CACM-0001.html`` ... per document, each a ``<pre>`` block) as a corpus table.

    Like Anserini (``HtmlCollection`` with its Jsoup generator): the doc id is the member's file
    name without its directory and a trailing ``.html``; the text is the page's text content
    (:func:`html_text`); directories and other non-file members are skipped. Members are read
    in archive order and each is decoded strictly as UTF-8 (a leading BOM dropped): a bad byte
    raises InputError ``archive:member: invalid UTF-8 ...``; so do a duplicate doc id and an
    archive that is not a readable gzip'd tar. The index is the 0-based position of the member
    among the files.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    rows: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    try:
        with tarfile.open(path, mode="r|*") as tar:  # a stream: one pass, no random access
            for member in tar:
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                raw = f.read() if f is not None else b""
                try:
                    html = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    line = raw.count(b"\n", 0, e.start) + 1
                    near = raw[max(0, e.start - 10) : e.end + 10]
                    raise InputError(
                        f"{path}:{member.name}: invalid UTF-8 at byte {e.start} (line {line}; "
                        f"{e.reason}; near {near!r})"
                    ) from None
                name = member.name.rsplit("/", 1)[-1]
                doc_id = name[: -len(".html")] if name.endswith(".html") else name
                if not doc_id or len(doc_id.split()) != 1:
                    raise InputError(
                        f"{path}:{member.name}: doc id {doc_id!r} is empty or contains whitespace"
                    )
                if doc_id in first:
                    raise InputError(
                        f"{path}:{member.name}: duplicate doc_id {doc_id!r} "
                        f"(first from {first[doc_id]})"
                    )
                first[doc_id] = member.name
                rows.append((doc_id, html_text(html.removeprefix("\ufeff"))))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise InputError(f"{path}: not a readable tar archive ({type(e).__name__}: {e})") from e
    return pd.DataFrame(rows, columns=["doc_id", "text"], dtype="str")


# --------------------------------------------------------------------------------------------
# Checks and dispatch


def check_ids(
    table: pd.DataFrame,
    known_ids: Iterable[str],
    what: str,
    path: str | Path,
    known_as: str = "the known ids",
) -> None:
    """Raise InputError if some ``table[what]`` value is not in ``known_ids``.

    The message names ``path``, the first unknown id (with its source line when the table
    comes from a line-based reader) and how many rows and distinct ids are unknown, e.g. a
    qrels doc id missing from the corpus: ``check_ids(qrels, corpus.doc_id, "doc_id", path,
    "the corpus")``.
    """
    if what not in table.columns:
        raise InputError(f"{path}: no column {what!r} to check (has {list(table.columns)})")
    if not isinstance(known_ids, (pd.Index, pd.Series, set, frozenset)):
        known_ids = pd.Index(list(known_ids))
    unknown = ~table[what].isin(known_ids)
    if not unknown.any():
        return
    pos = int(unknown.to_numpy().argmax())
    first = table[what].iloc[pos]
    loc = f"{path}:{table.index[pos]}" if table.index.name == "line" else str(path)
    n_rows = int(unknown.sum())
    n_ids = table.loc[unknown.to_numpy(), what].nunique()
    raise InputError(
        f"{loc}: {what} {first!r} is not in {known_as} ({n_ids} unknown {what} values, "
        f"{n_rows} of {len(table)} rows)"
    )


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
