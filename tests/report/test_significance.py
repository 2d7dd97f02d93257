"""Paired tests and Holm's correction on hand-made per-query scores, checked against the t and
permutation statistics computed here by hand (numpy, scipy's t distribution), not against the
module's own output: ties, a query missing from one run, NaN p-values, seed averaging."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.report import significance as sig
from dualrank.report import tables
from dualrank.retrieval.evaluate import per_query_scores

T = sig.Settings()


def by_hand_t(a, b) -> float:
    """Two-sided paired t-test p from the textbook formula."""
    d = np.asarray(a, float) - np.asarray(b, float)
    t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
    return float(2 * stats.t.sf(abs(t), len(d) - 1))


def by_hand_sign_flip(a, b) -> float:
    """Exact two-sided paired permutation p: every sign assignment of the differences."""
    d = np.asarray(a, float) - np.asarray(b, float)
    observed = abs(d.mean())
    flips = [abs((np.array(s) * d).mean()) for s in itertools.product((1, -1), repeat=len(d))]
    return float(np.mean([f >= observed - 1e-12 for f in flips]))


def series(values, ids=None):
    ids = ids or [f"q{i}" for i in range(len(values))]
    return pd.Series(values, index=pd.Index(ids, name="query_id"), dtype=float)


# RR@10-like per-query scores with ties (equal differences and equal scores on both sides).
A = [1.0, 0.5, 1.0, 0.333, 0.0, 1.0, 0.5, 0.25]
B = [0.5, 0.5, 1.0, 0.25, 0.0, 0.5, 0.333, 0.25]


def test_t_test_p_value_and_effect_sizes_match_the_formula():
    out = sig.paired(series(A), series(B), T)
    d = np.subtract(A, B)
    assert out["n_queries"] == 8
    assert out["p"] == pytest.approx(by_hand_t(A, B), rel=1e-9)
    assert out["mean_diff"] == pytest.approx(d.mean())
    assert out["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_permutation_test_is_the_exact_sign_flip_test_for_few_queries():
    # 2^8 = 256 sign assignments < the resamples asked for: scipy enumerates them all.
    out = sig.paired(series(A), series(B), sig.Settings(test="permutation", permutations=1000))
    assert out["p"] == pytest.approx(by_hand_sign_flip(A, B), abs=1e-9)


def test_pairs_are_matched_by_query_id_not_by_position():
    a = series(A)
    b = series(B).iloc[::-1]
    assert sig.paired(a, b, T)["p"] == pytest.approx(by_hand_t(A, B))


def test_a_query_missing_from_one_run_is_an_error_naming_it_and_the_runs():
    b = series(B[:-1])  # q7 missing
    with pytest.raises(InputError, match=r"query 'q7' is scored in run A but not in run B"):
        sig.paired(series(A), b, T, ("run A", "run B"))


def test_all_differences_zero_give_nan_and_are_left_out_of_holm():
    out = sig.paired(series(A), series(A), T)
    assert np.isnan(out["p"]) and out["mean_diff"] == 0 and np.isnan(out["d_z"])


def test_holm_by_hand_and_a_nan_shifts_nothing():
    p = [0.01, 0.04, np.nan, 0.03, 0.005]
    adjusted, reject = sig.holm(p, 0.05)
    # Holm over the 4 finite p-values: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, running max.
    expected = {0: 0.03, 1: 0.06, 3: 0.06, 4: 0.02}
    for i, v in expected.items():
        assert adjusted[i] == pytest.approx(v)
    assert np.isnan(adjusted[2]) and not reject[2]
    assert list(reject) == [True, False, False, False, True]  # 0.03 > 0.05 / 2: Holm stops there
    without = sig.holm([0.01, 0.04, 0.03, 0.005], 0.05)
    assert np.allclose(np.delete(adjusted, 2), without[0]) and list(np.delete(reject, 2)) == list(without[1])
    assert sig.holm([np.nan, np.nan], 0.05)[1].tolist() == [False, False]


# -- A table from run directories with per-query files ------------------------------------------

QUERIES = [f"q{i}" for i in range(12)]
RNG = np.random.default_rng(3)
BASE = RNG.uniform(0, 1, 12).round(3)


def run_dir(root: Path, name: str, seed: int, dev: np.ndarray, train: float) -> dict:
    d = root / name / f"seed{seed}"
    d.mkdir(parents=True)
    pd.DataFrame({"evaluation": "dev", "query_id": QUERIES, "mrr@10": dev, "ndcg@10": dev / 2}
                 ).to_parquet(d / "per-query.parquet")
    figures = {"mrr@10": float(dev.mean()), "ndcg@10": float(dev.mean() / 2)}
    (d / "metrics.json").write_text(json.dumps({"dev": figures}))
    (d / "train.json").write_text(json.dumps({"train_mrr@10": train}))
    return {"row": name, "seed": seed, "arch": "de", "dir": str(d)}


@pytest.fixture
def table(tmp_path):
    """Three rows of two seeds: the baseline, one clearly better, one equal to the baseline."""
    up = np.clip(BASE + 0.2 + RNG.normal(0, 0.02, 12), 0, 1)
    cells = []
    for s in (0, 1):
        cells.append(run_dir(tmp_path, "Base", s, BASE + 0.01 * s, 0.5))
        cells.append(run_dir(tmp_path, "Better", s, up + 0.01 * s, 0.6))
        cells.append(run_dir(tmp_path, "Same", s, BASE + 0.01 * s, 0.4))
    return {"name": "table9", "kind": "metrics", "title": "T", "evaluations": ["dev"], "cells": cells,
            "params": {"columns": [{"evaluation": "train", "metric": "mrr@10"},
                                   {"evaluation": "dev", "metric": "mrr@10"},
                                   {"evaluation": "dev", "metric": "ndcg@10"}]},
            "significance": {"test": "t", "alpha": 0.05, "baselines": [{"row": "Base"}]}}, up


def test_table_tests_average_seeds_per_query_and_correct_over_the_table(table, tmp_path):
    layout, up = table
    tests = sig.table_tests(layout)
    assert set(zip(tests["row"], tests["column"])) == {(r, c) for r in ("Better", "Same")
                                                        for c in ("train mrr@10", "dev mrr@10", "dev ndcg@10")}
    t = tests.set_index(["row", "column"])
    base, better = BASE + 0.005, up + 0.005  # the two seeds' mean, query by query
    assert t.loc[("Better", "dev mrr@10"), "p"] == pytest.approx(by_hand_t(better, base))
    assert t.loc[("Better", "dev ndcg@10"), "p"] == pytest.approx(by_hand_t(better / 2, base / 2))
    # No per-query train scores, and "Same" has every difference 0: NaN, not counted by Holm.
    assert t.loc[("Better", "train mrr@10"), "p"] != t.loc[("Better", "train mrr@10"), "p"]
    assert np.isnan(t.loc[("Same", "dev mrr@10"), "p"])
    finite = [by_hand_t(better, base), by_hand_t(better / 2, base / 2)]
    holm = np.minimum(1, np.maximum.accumulate(np.sort(finite) * [2, 1]))
    assert sorted(t["p_holm"].dropna()) == pytest.approx(sorted(holm))
    assert bool(t.loc[("Better", "dev mrr@10"), "significant"])

    csv, md = tmp_path / "t.csv", tmp_path / "t.md"
    tables.render(layout, str(csv), str(md))
    out = pd.read_csv(csv)
    assert {"p", "p_holm", "mean_diff", "d_z", "n_queries", "baseline"} <= set(out.columns)
    line = out[(out["row"] == "Better") & (out["column"] == "dev mrr@10")].iloc[0]
    assert line["mean_diff"] == pytest.approx((better - base).mean(), abs=1e-4) and line["n_queries"] == 12
    text = md.read_text()
    assert f"| Better | 0.600 ± 0.000 | {better.mean():.3f}▲" in text
    assert "Holm–Bonferroni corrected over the table's 2 tests" in text and "12 queries" in text
    assert "scipy.stats.ttest_rel" in text and "α = 0.05" in text


def test_a_seed_missing_a_query_is_an_error_naming_both_files(table):
    layout, _ = table
    p = Path(layout["cells"][4]["dir"]) / "per-query.parquet"  # Better, seed 1
    df = pd.read_parquet(p)
    df[df["query_id"] != "q5"].to_parquet(p)
    with pytest.raises(InputError, match=r"query 'q5' is scored in .*Better/seed0/per-query.parquet but not in "
                                         r".*Better/seed1/per-query.parquet"):
        sig.table_tests(layout)


def test_a_baseline_row_the_table_lacks_names_the_config_key(table):
    layout, _ = table
    layout["significance"]["baselines"] = [{"row": "One-hot"}]
    with pytest.raises(InputError, match=r"significance.baselines.table9\[0\]: no row 'One-hot'"):
        sig.table_tests(layout)


def test_per_query_scores_of_written_runs(tmp_path):
    # q1: relevant at rank 2 (RR 0.5); q2: relevant passage not retrieved (0); q3 at rank 1.
    run = pd.DataFrame({"query_id": ["q1", "q1", "q2", "q3"], "doc_id": ["a", "b", "c", "d"],
                        "score": [2.0, 1.0, 1.0, 1.0]})
    contracts.write(contracts.ranked(run), tmp_path / "dev.run.parquet", "run")
    contracts.write(pd.DataFrame({"query_id": ["q1", "q2", "q3"], "doc_id": ["b", "x", "d"], "relevance": [1, 1, 1]}),
                    tmp_path / "qrels.parquet", "qrels")
    out = per_query_scores([{"name": "dev", "qrels": str(tmp_path / "qrels.parquet"), "rel_level": 1,
                             "run_out": str(tmp_path / "dev.run.parquet")}], tmp_path / "pq.parquet")
    got = pd.read_parquet(tmp_path / "pq.parquet").set_index("query_id")
    assert got["mrr@10"].to_dict() == {"q1": 0.5, "q2": 0.0, "q3": 1.0}
    assert got.loc["q1", "ndcg@10"] == pytest.approx(1 / np.log2(3)) and (got["evaluation"] == "dev").all()
    assert len(out) == 3
