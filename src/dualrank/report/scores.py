"""The computations behind the score figures and the example tables, free of plotting and I/O.

Definitions (paper §3.3, C.3-C.5, C.11):

* positive / negative pair: a (query, candidate) pair of a judged query whose qrels grade is
  >= ``rel_level`` / below it (unjudged candidates are negatives, grade 0);
* centred scores: a model's scores minus their mean over the pairs shown (Figure 2's "constant
  offset to each model's scores to ensure they are mean zero");
* normalised margin: for every query and every (positive d+, negative d-) pair of its candidates,
  (s(q, d+) - s(q, d-)) / rho, where rho = max - min of the model's scores over all the pairs
  shown ("the maximal score range"); a query without a positive or a negative contributes none;
* discrepancy (Table 3): each model's scores are z-scored over the pairs both models scored
  ((s - mean) / std, std with ddof 0); discrepancy = z_high - z_low, so the top pairs are those the
  "high" model (DE) scores far above where the "low" model (CA) puts them, in units of each
  model's own spread, which removes the DE's baseline shift and its wider range. With
  ``by_query`` the z-scores are taken within each query's candidates instead (a query whose
  scores are all equal for a model then has no z-score and is left out); :func:`distinct` then
  keeps, greedily from the top, pairs whose query and passage are not yet shown, so that one
  passage the DE scores high for every query does not fill the table;
* disagreement (Tables 10, 11): two runs agree on a query when their per-query MRR@10 are equal
  (within 1e-9); otherwise the one with the larger MRR@10 is better on it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dualrank.data.io import InputError

TOL = 1e-9


def labelled(run: pd.DataFrame, qrels: pd.DataFrame, rel_level: int = 1) -> pd.DataFrame:
    """The run's pairs of judged queries with their grade (0 if unjudged) and ``positive``."""
    judged = set(qrels["query_id"])
    pairs = run[run["query_id"].isin(judged)][["query_id", "doc_id", "score"]]
    grades = qrels[["query_id", "doc_id", "relevance"]]
    out = pairs.merge(grades, on=["query_id", "doc_id"], how="left")
    out["label"] = out.pop("relevance").fillna(0).astype("int64")
    out["positive"] = out["label"] >= rel_level
    return out.sort_values(["query_id", "doc_id"], kind="stable").reset_index(drop=True)


def centre(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype="float64")
    return scores - scores.mean()


def score_range(scores: np.ndarray) -> float:
    scores = np.asarray(scores, dtype="float64")
    return float(scores.max() - scores.min())


def normalised_margins(pairs: pd.DataFrame) -> np.ndarray:
    """(s(q,d+) - s(q,d-)) / rho for every positive-negative pair of every query, queries in id
    order; ``pairs`` has query_id, score, positive (as from :func:`labelled`)."""
    if pairs.empty:
        raise InputError("no scored pairs to compute margins on")
    rho = score_range(pairs["score"].to_numpy())
    if rho == 0:
        raise InputError("all scores are equal (score range 0): margins cannot be normalised")
    parts = []
    for _, g in pairs.groupby("query_id", sort=True):
        pos = g.loc[g["positive"], "score"].to_numpy(dtype="float64")
        neg = g.loc[~g["positive"], "score"].to_numpy(dtype="float64")
        if len(pos) and len(neg):
            parts.append(np.subtract.outer(pos, neg).ravel())
    return np.concatenate(parts) / rho if parts else np.zeros(0)


def shared_edges(values: list[np.ndarray], bins: int) -> np.ndarray:
    """Common histogram bins for several samples, so that their densities compare."""
    allv = np.concatenate([np.asarray(v, dtype="float64") for v in values])
    lo, hi = float(allv.min()), float(allv.max())
    if lo == hi:  # e.g. a model that scores everything alike at initialisation
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram density: count in each bin / (n * bin width), so it integrates to 1."""
    values = np.asarray(values, dtype="float64")
    counts, _ = np.histogram(values, bins=edges)
    if len(values) == 0:
        return np.zeros(len(edges) - 1)
    return counts / (len(values) * np.diff(edges))


def summary(values: np.ndarray) -> dict[str, float]:
    """What a figure's CSV records of a sample (``above_zero``: the share of margins > 0)."""
    v = np.asarray(values, dtype="float64")
    if len(v) == 0:
        return {"n": 0, "mean": np.nan, "std": np.nan, "min": np.nan, "median": np.nan, "max": np.nan,
                "above_zero": np.nan}
    return {"n": len(v), "mean": v.mean(), "std": v.std(), "min": v.min(), "median": float(np.median(v)),
            "max": v.max(), "above_zero": float((v > 0).mean())}


def zscore(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    scores = np.asarray(scores, dtype="float64")
    sd = scores.std()
    if not np.isfinite(sd) or sd == 0:
        raise InputError(f"{name}: constant scores cannot be z-scored")
    return (scores - scores.mean()) / sd


def discrepancy(low: pd.DataFrame, high: pd.DataFrame, names: tuple[str, str] = ("low", "high"),
                by_query: bool = False) -> pd.DataFrame:
    """Pairs both runs scored, with score_low, score_high, z_low, z_high and discrepancy =
    z_high - z_low, largest first (ties by query id, doc id)."""
    keys = ["query_id", "doc_id"]
    both = low[keys + ["score"]].merge(high[keys + ["score"]], on=keys, suffixes=("_low", "_high"))
    if both.empty:
        raise InputError(f"{names[0]} and {names[1]} share no (query, passage) pair")
    for side, name in (("low", names[0]), ("high", names[1])):
        col = both[f"score_{side}"]
        if by_query:
            g = col.groupby(both["query_id"])
            sd = g.transform(lambda v: v.std(ddof=0))
            both[f"z_{side}"] = ((col - g.transform("mean")) / sd.where(sd > 0)).to_numpy()
        else:
            both[f"z_{side}"] = zscore(col.to_numpy(), name)
    both["discrepancy"] = both["z_high"] - both["z_low"]
    both = both.dropna(subset=["discrepancy"]).sort_values(keys, kind="stable")
    return both.sort_values("discrepancy", ascending=False, kind="stable").reset_index(drop=True)


def distinct(ranked: pd.DataFrame, top: int) -> pd.DataFrame:
    """The first ``top`` rows, in order, whose query and passage no earlier kept row has."""
    keep, queries, docs = [], set(), set()
    for i, q, d in zip(ranked.index, ranked["query_id"], ranked["doc_id"]):
        if q not in queries and d not in docs:
            keep.append(i)
            queries.add(q)
            docs.add(d)
            if len(keep) == top:
                break
    return ranked.loc[keep].reset_index(drop=True)


def disagreement(a: pd.DataFrame, b: pd.DataFrame, metric: str = "mrr@10") -> pd.DataFrame:
    """Per judged query: a's and b's ``metric`` and ``better`` in {"agree", "a", "b"}."""
    both = a[["query_id", metric]].merge(b[["query_id", metric]], on="query_id", suffixes=("_a", "_b"))
    d = both[f"{metric}_a"] - both[f"{metric}_b"]
    both["better"] = np.where(d.abs() <= TOL, "agree", np.where(d > 0, "a", "b"))
    return both.sort_values("query_id", kind="stable").reset_index(drop=True)


def stage_order(stages) -> list[str]:
    """Snapshot stages in training order: init, step{N} by N, final."""
    def key(s: str):
        if s == "init":
            return (0, 0)
        if s == "final":
            return (2, 0)
        m = re.fullmatch(r"step(\d+)", s)
        if not m:
            raise InputError(f"unknown snapshot stage {s!r} (expected init, step<N> or final)")
        return (1, int(m.group(1)))
    return sorted(set(stages), key=key)
