"""Teacher scores for the training pairs: a trained CA model, or the published T1 scores.

``dualrank teacher-score`` (:func:`score_file`): the CA teacher (trained one-hot on the same
dataset) scores every training pair. ``dualrank teacher-import`` (:func:`import_published`):
Hofstätter et al. (2020)'s published cross-encoder scores (Zenodo 4068216), tab-separated
``pos_score neg_score query_id pos_pid neg_pid`` over triples.train.small, read in streamed
batches; a positive repeated over many triples keeps its first score. With ``triples_out`` it
also writes every line as one row of the triples contract, in file order: the triplet losses
train on the triples themselves (paper §5, "observed training labels on the triplet data"),
one example per triple, not on one triple per query (``dualrank aggregate --triples``).

The import is fast (pyarrow's CSV reader) and exact about bad input: a line that is not five
fields, a score that is not a finite number (``nan``, ``inf``) or an empty line is reported as
``file:line`` by the precise reader (dualrank.data.formats.msmarco.iter_teacher_scores), and,
given the corpus (and queries), a passage (query) id they lack is reported with its line.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.formats.msmarco import iter_teacher_scores
from dualrank.data.io import InputError, atomic_output

log = logging.getLogger(__name__)

T1_COLUMNS = ["pos_score", "neg_score", "query_id", "pos_pid", "neg_pid"]


def score_pairs(model_dir: str, pairs_path: str, corpus: str, queries: str, batch_size: int,
                threads: int = 0) -> pa.Table:
    """The pairs with the teacher's scores (``threads``: torch CPU threads, 0 for torch's choice)."""
    # torch and the models are imported here only: importing published scores needs neither.
    from dualrank.retrieval.rerank import load_ranker, score_candidates
    from dualrank.text.cache import for_model

    model = load_ranker(model_dir, threads)
    pairs = contracts.read(pairs_path, "pairs")
    q = for_model(queries, "queries", model, set(pairs["query_id"]))
    d = for_model(corpus, "corpus", model, set(pairs["doc_id"]))
    run = score_candidates(model, pairs[["query_id", "doc_id"]], q, d, batch_size)
    scored = pairs.drop(columns="teacher_score").merge(
        run[["query_id", "doc_id", "score"]].rename(columns={"score": "teacher_score"}),
        on=["query_id", "doc_id"], how="left", validate="one_to_one",
    )
    return contracts.to_table(scored, "pairs")


def score_file(model_dir: str, pairs_path: str, corpus: str, queries: str, out: str | os.PathLike,
               batch_size: int, threads: int = 0) -> Path:
    """:func:`score_pairs` to a pairs file; fails (naming the pairs file) if any pair is left
    unscored or scored inf/NaN."""
    table = score_pairs(model_dir, pairs_path, corpus, queries, batch_size, threads)
    n_missing = pc.sum(pc.is_null(table["teacher_score"])).as_py() or 0
    if n_missing:
        raise InputError(f"{pairs_path}: {n_missing} pairs were left unscored")
    n_bad = pc.sum(pc.invert(pc.is_finite(table["teacher_score"]))).as_py() or 0
    if n_bad:  # a diverged teacher: its scores would make every distillation loss inf or NaN
        raise InputError(f"{model_dir}: the teacher gave {n_bad} non-finite scores to the pairs of {pairs_path}")
    return contracts.write(table, out, "pairs")


def _first_new(keys: pa.Array, seen: pa.Array | None) -> np.ndarray:
    """Row positions of the first occurrence of each key of ``keys`` that is not in ``seen``."""
    enc = pc.dictionary_encode(keys)
    _, first = np.unique(enc.indices.to_numpy(zero_copy_only=False), return_index=True)
    first.sort()
    if seen is not None and len(seen) and len(first):
        fresh = pc.invert(pc.is_in(keys.take(pa.array(first)), value_set=seen))
        first = first[fresh.to_numpy(zero_copy_only=False)]
    return first


class _IdCheck:
    """Every passage id of the published file in the corpus, every query id in the queries.

    The distinct ids met are collected batch by batch and checked once at the end, against a
    single hash of the corpus' ids (8.8M for MS MARCO): a lookup per batch would hash the
    corpus again for each. A missing id is then located by a second pass over the file."""

    COMPACT = 1 << 22  # distinct ids kept before they are made distinct again

    def __init__(self, corpus: str | None, queries: str | None):
        self.known = {"pid": self._ids(corpus, "doc_id"), "query_id": self._ids(queries, "query_id")}
        self.source = {"pid": corpus, "query_id": queries}
        self.columns = {"pid": ("pos_pid", "neg_pid"), "query_id": ("query_id",)}
        self.met: dict[str, list[pa.Array]] = {k: [] for k, v in self.known.items() if v is not None}

    @staticmethod
    def _ids(path: str | None, column: str) -> pa.Array | None:
        if path is None:
            return None
        if not Path(path).is_file():
            raise InputError(f"{path}: no such file")
        return pq.read_table(path, columns=[column])[column].combine_chunks()

    def add(self, batch: pa.RecordBatch) -> None:
        for kind, met in self.met.items():
            met += [pc.unique(batch.column(c)) for c in self.columns[kind]]
            if sum(map(len, met)) > self.COMPACT:
                self.met[kind] = [pc.unique(pa.concat_arrays(met))]

    def check(self, reader, scores_path: str) -> None:
        """Raise ``file:line`` for the first id missing from its table; ``reader()`` reads the
        file again, batch by batch."""
        for kind, met in self.met.items():
            if not met:
                continue
            ids = pc.unique(pa.concat_arrays(met))
            missing = ids.filter(pc.invert(pc.is_in(ids, value_set=self.known[kind])))
            if len(missing):
                raise self._locate(reader, scores_path, kind, missing)

    def _locate(self, reader, scores_path: str, kind: str, missing: pa.Array) -> InputError:
        n = 0
        for batch in reader():
            rows = [np.flatnonzero(pc.is_in(batch.column(c), value_set=missing).to_numpy(zero_copy_only=False))
                    for c in self.columns[kind]]
            hits = [(int(r[0]), c) for r, c in zip(rows, self.columns[kind]) if len(r)]
            if hits:
                row, col = min(hits)
                return InputError(f"{scores_path}:{n + row + 1}: {col} {batch.column(col)[row].as_py()!r} is not in "
                                  f"{self.source[kind]} ({len(missing)} distinct unknown ids in the file)")
            n += batch.num_rows
        return InputError(f"{scores_path}: {len(missing)} ids not in {self.source[kind]}, e.g. {missing[0].as_py()!r}")


def import_published(scores_path: str, out: str, block_size: int = 1 << 24,
                     triples_out: str | None = None, corpus: str | None = None,
                     queries: str | None = None) -> None:
    """Stream the published file into the pairs contract: every triple gives its negative
    (label 0); a (query, positive) pair gives a row the first time it is met only. With
    ``triples_out``, every line also becomes a row of a triples table (same pass, file order).
    With ``corpus`` (``queries``), every passage (query) id must be one of its ids.

    Memory: the CSV reader's 16 MB blocks (pyarrow's streaming reader holds up to ~0.5 GB of
    them) plus the keys of the distinct (query, positive) pairs seen so far (~400k for
    triples.train.small: a few MB as an Arrow string array, checked against each block with a
    vectorised hash lookup, no Python object per row). 40M synthetic triples: 25 s, peak RSS
    0.87 GiB (``python -m tools.bench.aggregate``).
    """
    if not Path(scores_path).is_file():
        raise InputError(f"{scores_path}: no such file")
    if Path(scores_path).stat().st_size == 0:
        raise InputError(f"{scores_path}: no teacher scores (an empty file)")
    ids = _IdCheck(corpus, queries)
    opts = pacsv.ReadOptions(column_names=T1_COLUMNS, block_size=block_size)
    # Only an empty field is null: "nan" is read as a number, and refused as not finite.
    conv = pacsv.ConvertOptions(column_types={
        "pos_score": pa.float32(), "neg_score": pa.float32(), "query_id": pa.string(),
        "pos_pid": pa.string(), "neg_pid": pa.string()}, null_values=[""])
    # No quoting in the published file: a quote character is data. An empty line is a row of
    # nulls, so that row r of the file is line r + 1.
    parse = pacsv.ParseOptions(delimiter="\t", quote_char=False, ignore_empty_lines=False)
    seen: pa.Array | None = None
    n = n_pos = 0

    def reader():
        return pacsv.open_csv(scores_path, read_options=opts, parse_options=parse, convert_options=conv)

    try:
        with ExitStack() as stack:
            writer = stack.enter_context(pq.ParquetWriter(stack.enter_context(atomic_output(out)),
                                                          contracts.schema("pairs")))
            triples = None if triples_out is None else stack.enter_context(pq.ParquetWriter(
                stack.enter_context(atomic_output(triples_out)), contracts.schema("triples")))
            for batch in reader():
                n += batch.num_rows
                _check_fields(batch, scores_path, n)
                ids.add(batch)
                keys = pc.binary_join_element_wise(batch.column("query_id"), batch.column("pos_pid"), "\t")
                first = _first_new(keys, seen)
                new_keys = keys.take(pa.array(first))
                seen = new_keys if seen is None else pa.concat_arrays([seen, new_keys])
                n_pos += len(first)
                for part in _triples_to_pairs(batch, first):
                    writer.write_table(contracts.to_table(part, "pairs"))
                if triples is not None:
                    triples.write_table(_triples(batch))
                log.info("imported %d teacher triples (%d distinct positives)", n, n_pos)
            if n == 0:  # inside: nothing is written
                raise InputError(f"{scores_path}: no teacher scores (an empty file)")
            ids.check(reader, scores_path)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        _locate(scores_path)
        raise InputError(f"{scores_path}: not in the published format {T1_COLUMNS}: {e}") from None


def _locate(scores_path: str) -> None:
    """Raise the precise reader's ``file:line`` error for the first malformed line, if any."""
    for _ in iter_teacher_scores(scores_path):
        pass


def _check_fields(batch: pa.RecordBatch, scores_path: str, n: int) -> None:
    """No empty field and no non-finite score in the triples of ``batch`` (the last of the
    ``n`` read so far); the precise reader names the first bad line."""
    bad = any(batch.column(col).null_count for col in T1_COLUMNS) or not all(
        pc.all(pc.is_finite(batch.column(col))).as_py() for col in ("pos_score", "neg_score"))
    if bad:
        _locate(scores_path)
        raise InputError(f"{scores_path}: an empty field or a non-finite score in lines "
                         f"{n - batch.num_rows + 1}-{n}")


def _triples(batch: pa.RecordBatch) -> pa.Table:
    """The batch's lines as rows of the triples contract."""
    return pa.table({"query_id": batch.column("query_id"), "pos_id": batch.column("pos_pid"),
                     "neg_id": batch.column("neg_pid"), "pos_score": batch.column("pos_score"),
                     "neg_score": batch.column("neg_score")}, schema=contracts.schema("triples"))


def _triples_to_pairs(batch: pa.RecordBatch, first: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """The new positives (rows ``first`` of the batch), then every triple's negative."""
    take = pa.array(first)
    pos = pa.table({"query_id": batch.column("query_id").take(take),
                    "doc_id": batch.column("pos_pid").take(take),
                    "label": pa.array(np.ones(len(first), np.int8)),
                    "teacher_score": batch.column("pos_score").take(take)})
    neg = pa.table({"query_id": batch.column("query_id"), "doc_id": batch.column("neg_pid"),
                    "label": pa.array(np.zeros(batch.num_rows, np.int8)),
                    "teacher_score": batch.column("neg_score")})
    return pos, neg
