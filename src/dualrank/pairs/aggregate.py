"""Aggregate scored (query, passage) pairs into training groups of K passages per query
(``dualrank aggregate``).

Paper §5: "we aggregate the triplet data by query, and retain the top-20 passages with
highest teacher model score". Labelled positives are always kept (a group without a
positive gives the one-hot loss and the first term of M3SE nothing to learn from), so a group
holds the positives and the K - |P| negatives with the highest teacher scores, sorted by
teacher score. With ``--labels-only`` (groups for one-hot training, before any teacher) the
negatives are the first ones in the pairs table's order (BM25 rank for demo candidates,
file order for MS MARCO triples), positives first, and teacher_scores is null. A (query,
passage) pair met more than once keeps its first occurrence; a group left without a positive
or without a negative is dropped (and counted in the log). Groups are written sorted by
query_id (string order).

Bounded memory (the ~40M pairs of the published MS MARCO teacher never sit in memory):

1. one pass over the ``query_id`` column counts the pairs of each distinct query (memory in
   the number of distinct queries, ~400k for MS MARCO, not in the number of pairs) and cuts
   the sorted query ids into contiguous ranges of about ``bucket_rows`` pairs (a range
   partition: every query falls in exactly one bucket, and bucket order is query order);
2. a second pass streams the pairs in record batches of ``batch_rows`` and appends each row,
   with the rank of its query id, to its bucket's Arrow IPC file in a temporary folder beside
   the output (removed at the end, also on failure);
3. each bucket in turn is read (memory-mapped), de-duplicated, sorted and cut to its top-K with
   numpy, and its groups are appended to the output Parquet file (one row group per bucket),
   written to a temporary name and renamed into place at the end.

Peak memory is about one batch plus one bucket, and does not grow with the input (Parquet is
read with ``pre_buffer=False``: a pre-buffering reader keeps every chunk it has read until it
is closed). With a single bucket (small inputs) the partition pass is skipped.
``python -m tools.bench.aggregate`` measures it at MS MARCO scale: 40.4M pairs over 400k
queries to top-20 groups in 39 s with a peak RSS of 0.70 GiB on 2 cores, against 83 s and
5.1 GiB for the same aggregation in plain pandas (identical output).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.io import InputError, atomic_output

log = logging.getLogger(__name__)

BUCKET_ROWS = 2_000_000
BATCH_ROWS = 1 << 20
PAIR_COLUMNS = contracts.schema("pairs").names
_BUCKET_SCHEMA = pa.schema([
    ("rank", pa.int32()),
    ("doc_id", pa.string()),
    ("label", pa.int8()),
    ("teacher_score", pa.float32()),
])


@dataclass
class Stats:
    """What an aggregation did (logged by the CLI, returned by :func:`aggregate_file`)."""

    pairs: int = 0  # rows read
    unique_pairs: int = 0  # after dropping repeated (query, passage) pairs
    queries: int = 0  # distinct query ids
    groups: int = 0  # groups written
    dropped: int = 0  # queries without a positive or without a negative
    min_size: int = 0
    max_size: int = 0
    buckets: int = 0

    def add(self, other: Stats) -> None:
        self.unique_pairs += other.unique_pairs
        self.dropped += other.dropped
        if other.groups:
            self.min_size = other.min_size if not self.groups else min(self.min_size, other.min_size)
            self.max_size = max(self.max_size, other.max_size)
        self.groups += other.groups


def _check_k(k: int) -> None:
    if k < 2:
        raise InputError(f"k = {k}: a training group needs at least 2 passages")


def _check_batch(t: pa.Table, labels_only: bool, where: str) -> None:
    """Refuse null ids or labels, and (with a teacher) a missing or NaN teacher score."""
    for col in ("query_id", "doc_id", "label"):
        if t[col].null_count:
            i = int(np.flatnonzero(pc.is_null(t[col]).to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{where}: row {i} of a batch has a null {col}")
    if labels_only:
        return
    score = t["teacher_score"]
    bad = pc.or_kleene(pc.is_null(score), pc.is_nan(score))
    bad = pc.fill_null(bad, True)
    if pc.any(bad).as_py():
        i = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{where}: pair ({t['query_id'][i].as_py()}, {t['doc_id'][i].as_py()}) "
                         "has no teacher_score")


def _list_array(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _groups(rank: np.ndarray, doc: pa.Array, label: np.ndarray, score: np.ndarray | None,
            ids: pa.Array, k: int) -> tuple[pa.Table, Stats]:
    """Groups of one bucket: rows in file order, ``rank`` the position of each row's query id in
    the sorted ``ids``. ``score`` None means labels only (file order)."""
    st = Stats()
    if len(rank) == 0:
        return contracts.schema("groups").empty_table(), st
    rank = rank.astype(np.int64, copy=False)
    # Repeated (query, passage) pairs: keep the first occurrence.
    enc = pc.dictionary_encode(doc)
    key = rank * max(len(enc.dictionary), 1) + enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    _, first = np.unique(key, return_index=True)
    if len(first) < len(key):
        first.sort()
        rank, label = rank[first], label[first]
        doc = doc.take(pa.array(first))
        score = None if score is None else score[first]
    st.unique_pairs = len(rank)
    # Per query: positives first, then by descending teacher score (or file order); lexsort is
    # stable, so ties keep file order.
    neg = (label <= 0).astype(np.int8)
    order = np.lexsort((neg, rank)) if score is None else np.lexsort((-score, neg, rank))
    r = rank[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    lens = np.diff(np.r_[starts, len(r)])
    within = np.arange(len(r)) - np.repeat(starts, lens)
    sel = order[within < k]
    if score is not None:  # the kept passages, sorted by teacher score (positives first on ties)
        sel = sel[np.lexsort((-score[sel], rank[sel]))]
    r = rank[sel]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    lens = np.diff(np.r_[starts, len(r)])
    n_pos = np.add.reduceat((label[sel] > 0).astype(np.int64), starts)
    ok = (n_pos > 0) & (n_pos < lens)
    st.dropped = int((~ok).sum())
    sel = sel[np.repeat(ok, lens)]
    group_rank = r[starts[ok]]
    lens = lens[ok]
    offsets = np.r_[0, np.cumsum(lens)]
    n = len(lens)
    st.groups = n
    if n:
        st.min_size, st.max_size = int(lens.min()), int(lens.max())
    take = pa.array(sel)
    table = pa.table({
        "query_id": ids.take(pa.array(group_rank)),
        "doc_ids": _list_array(offsets, doc.take(take)),
        "labels": _list_array(offsets, pa.array(label[sel], pa.int8())),
        "teacher_scores": (pa.nulls(n, pa.list_(pa.float32())) if score is None
                           else _list_array(offsets, pa.array(score[sel], pa.float32()))),
    }, schema=contracts.schema("groups"))
    return table, st


def _sorted_ids(query_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    ids = pc.unique(query_ids)
    return ids.take(pc.sort_indices(ids))


def _bucket_groups(t: pa.Table, ids: pa.Array, k: int, labels_only: bool) -> tuple[pa.Table, Stats]:
    """Groups of a table with a ``rank`` column (the query id's position in ``ids``)."""
    doc = t["doc_id"].combine_chunks() if isinstance(t["doc_id"], pa.ChunkedArray) else t["doc_id"]
    rank = t["rank"].to_numpy()
    label = t["label"].to_numpy()
    score = None if labels_only else t["teacher_score"].to_numpy()
    return _groups(rank, doc, label, score, ids, k)


def aggregate_table(pairs: pa.Table, k: int, labels_only: bool = False, where: str = "pairs") -> tuple[pa.Table, Stats]:
    """In memory: a pairs table -> its groups table (sorted by query_id)."""
    _check_k(k)
    t = contracts.to_table(pairs, "pairs", where)
    _check_batch(t, labels_only, where)
    ids = _sorted_ids(t["query_id"])
    rank = pc.index_in(t["query_id"], value_set=ids)
    t = pa.table({"rank": rank, "doc_id": t["doc_id"], "label": t["label"],
                  "teacher_score": t["teacher_score"]})
    groups, st = _bucket_groups(t, ids, k, labels_only)
    st.pairs, st.queries, st.buckets = pairs.num_rows, len(ids), 1
    return groups, st


def aggregate(pairs: pd.DataFrame, k: int, labels_only: bool = False, where: str = "pairs") -> pd.DataFrame:
    """In memory, for DataFrames: the groups as a DataFrame of Python lists (see module doc)."""
    groups, st = aggregate_table(contracts.to_table(pairs, "pairs", where), k, labels_only, where)
    if st.dropped:
        log.warning("%s: dropped %d of %d queries lacking a positive or a negative", where, st.dropped, st.queries)
    return pd.DataFrame({name: groups[name].to_pylist() for name in groups.column_names})


# --------------------------------------------------------------------------------------------
# Streaming


def _query_counts(pf: pq.ParquetFile, batch_rows: int, where: str) -> tuple[pa.Array, np.ndarray]:
    """Sorted distinct query ids and the number of pairs of each (pass 1, ``query_id`` only)."""
    acc: pa.Table | None = None
    for batch in pf.iter_batches(batch_size=batch_rows, columns=["query_id"]):
        col = batch.column(0).cast(pa.string())
        if col.null_count:
            raise InputError(f"{where}: a null query_id")
        vc = pc.value_counts(col)
        t = pa.table({"q": vc.field("values"), "n": vc.field("counts")})
        if acc is not None:
            t = pa.concat_tables([acc, t]).group_by("q").aggregate([("n", "sum")])
            t = pa.table({"q": t["q"], "n": t["n_sum"]})
        acc = t
    if acc is None or acc.num_rows == 0:
        return pa.array([], pa.string()), np.zeros(0, np.int64)
    acc = acc.take(pc.sort_indices(acc, sort_keys=[("q", "ascending")]))
    return acc["q"].combine_chunks(), acc["n"].to_numpy()


def _bucket_of(counts: np.ndarray, bucket_rows: int) -> np.ndarray:
    """Bucket of each query (by sorted rank): contiguous ranges of about ``bucket_rows`` pairs."""
    start = np.cumsum(counts) - counts
    raw = start // max(bucket_rows, 1)
    _, bucket = np.unique(raw, return_inverse=True)  # number the non-empty ranges 0..B-1
    return bucket.astype(np.int32)


def aggregate_file(pairs_path: str | os.PathLike, out: str | os.PathLike, k: int, labels_only: bool = False,
                   bucket_rows: int = BUCKET_ROWS, batch_rows: int = BATCH_ROWS,
                   tmp_dir: str | os.PathLike | None = None) -> Stats:
    """Stream a pairs Parquet file into a groups Parquet file in bounded memory (module doc)."""
    _check_k(k)
    where = str(pairs_path)
    pf = contracts.open_parquet(pairs_path, "pairs")
    st = Stats(pairs=pf.metadata.num_rows)
    ids, counts = _query_counts(pf, batch_rows, where)
    st.queries = len(ids)
    bucket_of = _bucket_of(counts, bucket_rows)
    n_buckets = int(bucket_of.max()) + 1 if len(bucket_of) else 0
    st.buckets = n_buckets
    log.info("%s: %d pairs over %d queries -> %d bucket(s) of <= ~%d pairs", where, st.pairs, st.queries,
             n_buckets, bucket_rows)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".buckets", dir=tmp_dir or out.parent))
    try:
        with atomic_output(out) as out_tmp, pq.ParquetWriter(out_tmp, contracts.schema("groups")) as writer:
            if n_buckets <= 1:
                table = contracts.to_table(pf.read(columns=PAIR_COLUMNS), "pairs", where)
                groups, s = aggregate_table(table, k, labels_only, where)
                del table
                st.add(s)
                writer.write_table(groups)
            else:
                _partition(pf, ids, bucket_of, n_buckets, work, labels_only, batch_rows, where)
                _write_buckets(writer, work, n_buckets, ids, k, labels_only, st)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return st


def _write_buckets(writer: pq.ParquetWriter, work: Path, n_buckets: int, ids: pa.Array, k: int,
                   labels_only: bool, st: Stats) -> None:
    """Pass 3: each bucket's groups, in bucket (so query) order, one row group per bucket."""
    for b in range(n_buckets):
        path = work / f"bucket-{b:05d}.arrow"
        if not path.exists():
            continue
        with pa.memory_map(str(path)) as src:
            t = pa.ipc.open_file(src).read_all()
            groups, s = _bucket_groups(t, ids, k, labels_only)
            del t
        path.unlink()
        st.add(s)
        if groups.num_rows:
            writer.write_table(groups)
        log.info("bucket %d/%d: %d groups", b + 1, n_buckets, s.groups)


def _partition(pf: pq.ParquetFile, ids: pa.Array, bucket_of: np.ndarray, n_buckets: int, work: Path,
               labels_only: bool, batch_rows: int, where: str) -> None:
    """Pass 2: append every pair (with its query's rank) to its bucket's Arrow IPC file."""
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=PAIR_COLUMNS):
            t = contracts.to_table(pa.Table.from_batches([batch]), "pairs", where)
            _check_batch(t, labels_only, where)
            rank = pc.index_in(t["query_id"], value_set=ids)
            b = bucket_of[rank.to_numpy()]
            order = np.argsort(b, kind="stable")
            bounds = np.searchsorted(b[order], np.arange(n_buckets + 1))
            part = pa.table({"rank": rank, "doc_id": t["doc_id"], "label": t["label"],
                             "teacher_score": t["teacher_score"]}, schema=_BUCKET_SCHEMA).take(pa.array(order))
            for i in np.flatnonzero(np.diff(bounds)):
                i = int(i)
                w = writers.get(i)
                if w is None:
                    w = writers[i] = pa.ipc.new_file(str(work / f"bucket-{i:05d}.arrow"), _BUCKET_SCHEMA)
                w.write_table(part.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])))
    finally:
        for w in writers.values():
            w.close()


def log_summary(st: Stats, where: str, k: int) -> None:
    """What an aggregation did, for the job's log."""
    if st.dropped:
        log.warning("%s: dropped %d of %d queries lacking a positive or a negative", where, st.dropped, st.queries)
    log.info("%d pairs (%d distinct) -> %d groups of %d-%d passages (k=%d, %d bucket(s))", st.pairs,
             st.unique_pairs, st.groups, st.min_size, st.max_size, k, st.buckets)
