"""Aggregate scored (query, passage) pairs into training groups of K passages per query.

    python -m dualrank.aggregate --pairs P.parquet --k 20 --out G.parquet [--labels-only]

Paper §5: "we aggregate the triplet data by query, and retain the top-20 passages with
highest teacher model score". Labelled positives are always kept (a group without a
positive gives the one-hot loss and the first term of M3SE nothing to learn from), so a group
holds the positives and the K - |P| negatives with the highest teacher scores, sorted by
teacher score. With ``--labels-only`` (groups for one-hot training, before any teacher) the
negatives are the first ones in the pairs table's order (BM25 rank for demo candidates,
file order for MS MARCO triples) and teacher_scores is null.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd

from . import contracts
from .errors import InputError
from .logs import entry_point

log = logging.getLogger("dualrank.aggregate")


def aggregate(pairs: pd.DataFrame, k: int, labels_only: bool = False, where: str = "pairs") -> pd.DataFrame:
    if k < 2:
        raise InputError(f"k = {k}: a training group needs at least 2 passages")
    df = pairs.drop_duplicates(["query_id", "doc_id"]).copy()
    df["_order"] = np.arange(len(df))
    if not labels_only:
        if df["teacher_score"].isna().any():
            bad = df[df["teacher_score"].isna()].iloc[0]
            raise InputError(f"{where}: pair ({bad.query_id}, {bad.doc_id}) has no teacher_score")
        key = -df["teacher_score"].to_numpy()
    else:
        key = df["_order"].to_numpy()
    # Positives first, then by teacher score (or file order); keep the first k per query.
    df["_pos"] = (df["label"] <= 0).astype(np.int8)
    df["_key"] = key
    df = df.sort_values(["query_id", "_pos", "_key"], kind="stable")
    df = df[df.groupby("query_id").cumcount() < k]
    if not labels_only:
        df = df.sort_values(["query_id", "teacher_score"], ascending=[True, False], kind="stable")
    grouped = df.groupby("query_id", sort=True)
    out = pd.DataFrame({
        "query_id": list(grouped.groups.keys()),
        "doc_ids": grouped["doc_id"].agg(list).tolist(),
        "labels": grouped["label"].agg(list).tolist(),
        "teacher_scores": None if labels_only else grouped["teacher_score"].agg(list).tolist(),
    })
    # A group with no negative or no positive teaches a ranker nothing.
    has_both = out["labels"].map(lambda y: 0 < sum(v > 0 for v in y) < len(y))
    if (~has_both).any():
        log.warning("%s: dropped %d of %d queries lacking a positive or a negative",
                    where, int((~has_both).sum()), len(out))
    return out[has_both].reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--labels-only", action="store_true")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    pairs = contracts.read(a.pairs, "pairs")
    groups = aggregate(pairs, a.k, a.labels_only, where=a.pairs)
    sizes = groups["doc_ids"].map(len)
    log.info("%d pairs -> %d groups of %d-%d passages (k=%d)", len(pairs), len(groups),
             sizes.min(), sizes.max(), a.k)
    contracts.write(groups, a.out, "groups")


if __name__ == "__main__":
    entry_point(main)()
