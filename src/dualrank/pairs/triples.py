"""Training groups for the triplet losses: one group [positive, negative] per training triple
(``dualrank aggregate --triples``).

Paper §5: the one-hot CA and DE ("observed training labels on the triplet data"), MSE, margin
MSE and RankDistil-B, and the one-hot rows of Tables 8 and 9 train on triples.train.small, ~40M
(query, positive, negative) triples: every triple is a training example. A K = 2 run therefore
reads one group per triple (labels [1, 0], teacher scores [pos_score, neg_score] or null
without a teacher), in the triples' order; the trainer's seeded sampler
(:class:`dualrank.training.groups.Sampler`) permutes those rows each epoch, so a query's
triples are all seen, resumably and the same on every data-parallel rank.

Sources:

* a triples table (MS MARCO: every line of the published T1 file, ``dualrank teacher-import
  --triples-out``), streamed batch by batch in bounded memory;
* a pairs table (datasets whose teacher is our own CA: the demo's synthetic data, NQ): each of a
  query's negatives, in file order, is paired with one of its positives in turn (round robin:
  the j-th negative with the (j mod |P|)-th positive, positives in file order), so that a query
  with several positives is never dropped and each positive gets its share of the negatives.
  ``negatives_per_query`` keeps only each query's first negatives (NQ's single-negative models
  train on "a single BM-25 negative", Appendix B: the first hard negative). A (query, passage)
  pair met twice keeps its first occurrence, as in :mod:`dualrank.pairs.aggregate`.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.io import InputError, atomic_output
from dualrank.pairs.aggregate import BATCH_ROWS, Stats

log = logging.getLogger(__name__)


def triples_of_pairs(pairs: pd.DataFrame, negatives_per_query: int | None = None) -> pd.DataFrame:
    """A pairs table's triples (module doc): queries in order of first appearance, each query's
    negatives in file order, each with a positive in turn. Queries without a positive or a
    negative give none."""
    df = pairs.drop_duplicates(["query_id", "doc_id"], keep="first")
    first = pd.unique(df["query_id"])
    order = pd.Series(np.arange(len(first)), index=first)
    df = df.assign(_q=df["query_id"].map(order).to_numpy()).sort_values("_q", kind="stable")
    pos = df[df["label"] > 0]
    neg = df[df["label"] <= 0]
    j = neg.groupby("_q").cumcount().to_numpy()
    if negatives_per_query is not None:
        neg, j = neg[j < negatives_per_query], j[j < negatives_per_query]
    n_pos = pos.groupby("_q").size()
    neg = neg.assign(_j=j, _n=neg["_q"].map(n_pos).to_numpy())
    neg = neg[neg["_n"].notna()]
    pos = pos.assign(_j=pos.groupby("_q").cumcount().to_numpy())
    neg = neg.assign(_j=(neg["_j"] % neg["_n"]).astype(np.int64))
    t = neg.merge(pos[["_q", "_j", "doc_id", "teacher_score"]], on=["_q", "_j"], how="left",
                  suffixes=("_neg", "_pos"), validate="many_to_one", sort=False)
    return pd.DataFrame({"query_id": t["query_id"].to_numpy(), "pos_id": t["doc_id_pos"].to_numpy(),
                         "neg_id": t["doc_id_neg"].to_numpy(), "pos_score": t["teacher_score_pos"].to_numpy(),
                         "neg_score": t["teacher_score_neg"].to_numpy()})


def groups_of_triples(triples: pa.Table, labels_only: bool, where: str = "triples") -> pa.Table:
    """One group per triple: doc_ids [pos, neg], labels [1, 0], teacher scores [pos, neg] (null
    with ``labels_only``)."""
    t = contracts.to_table(triples, "triples", where)
    for col in ("query_id", "pos_id", "neg_id"):
        if t[col].null_count:
            raise InputError(f"{where}: a triple with a null {col}")
    n = t.num_rows
    offsets = pa.array(np.arange(0, 2 * n + 1, 2), pa.int32())

    def interleave(a: str, b: str, typ: pa.DataType) -> pa.Array:
        x = pa.concat_arrays([t[a].combine_chunks().cast(typ), t[b].combine_chunks().cast(typ)])
        return x.take(pa.array(np.arange(2 * n).reshape(2, n).T.ravel()))

    if labels_only:
        scores = pa.nulls(n, pa.list_(pa.float32()))
    else:
        s = interleave("pos_score", "neg_score", pa.float32())
        bad = pc.fill_null(pc.is_nan(s), True)
        if pc.any(bad).as_py():
            i = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0]) // 2
            raise InputError(f"{where}: triple ({t['query_id'][i].as_py()}, {t['pos_id'][i].as_py()}, "
                             f"{t['neg_id'][i].as_py()}) has no teacher score")
        scores = pa.ListArray.from_arrays(offsets, s)
    labels = pa.array(np.tile(np.array([1, 0], np.int8), n), pa.int8())
    return pa.table({"query_id": t["query_id"].combine_chunks(),
                     "doc_ids": pa.ListArray.from_arrays(offsets, interleave("pos_id", "neg_id", pa.string())),
                     "labels": pa.ListArray.from_arrays(offsets, labels),
                     "teacher_scores": scores}, schema=contracts.schema("groups"))


def _is_triples(pf: pq.ParquetFile) -> bool:
    return set(contracts.schema("triples").names) <= set(pf.schema_arrow.names)


def triples_file(src: str | os.PathLike, out: str | os.PathLike, labels_only: bool = False,
                 negatives_per_query: int | None = None, batch_rows: int = BATCH_ROWS) -> Stats:
    """A triples table (streamed) or a pairs table (in memory: the CA-teacher datasets' pairs are
    small, ~1M for NQ) -> one group per triple at ``out``, in the triples' order."""
    where = str(src)
    st = Stats(buckets=1, min_size=2, max_size=2)
    if not os.path.exists(src):
        raise InputError(f"{src}: no such file (expected a triples or pairs table)")
    pf = pq.ParquetFile(src, pre_buffer=False)
    with atomic_output(out) as tmp, pq.ParquetWriter(tmp, contracts.schema("groups")) as writer:
        if _is_triples(pf):
            if negatives_per_query is not None:
                raise InputError(f"{where}: --negatives-per-query applies to a pairs table only")
            batches = (pa.Table.from_batches([b]) for b in pf.iter_batches(batch_size=batch_rows))
        else:
            pairs = contracts.read(src, "pairs")
            st.pairs = len(pairs)
            st.queries = pairs["query_id"].nunique()
            batches = [contracts.to_table(triples_of_pairs(pairs, negatives_per_query), "triples", where)]
        seen: set = set()
        for batch in batches:
            groups = groups_of_triples(batch, labels_only, where)
            writer.write_table(groups)
            st.groups += groups.num_rows
            if not st.pairs:  # a triples table: its distinct queries, for the log
                seen.update(pc.unique(batch["query_id"]).to_pylist())
        st.queries = st.queries or len(seen)
    if not st.groups:
        log.warning("%s: no triple (no query with both a positive and a negative)", where)
    return st
