"""The claims' verdicts and paper versus measured, from hand-made runs: each relation's verdict
worked out here from the numbers written, the tests' p-values from the textbook t formula and
Holm's correction over the claims by hand; the config's own claims all name real cells."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from dualrank import grid
from dualrank.data.io import InputError
from dualrank.report import cells, claims, reproduction, targets

ROOT = Path(__file__).resolve().parents[2]
QUERIES = [f"q{i}" for i in range(10)]
BASE = np.array([0.1, 0.5, 1.0, 0.2, 0.0, 0.33, 1.0, 0.5, 0.25, 0.0])


def by_hand_t(a, b) -> float:
    d = np.asarray(a, float) - np.asarray(b, float)
    return float(2 * stats.t.sf(abs(d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))), len(d) - 1))


def run(root: Path, row: str, dev: np.ndarray, train: float) -> dict:
    d = root / row.replace(" ", "_") / "seed0"
    d.mkdir(parents=True)
    pd.DataFrame({"evaluation": "dev", "query_id": QUERIES, "mrr@10": dev, "ndcg@10": dev}).to_parquet(
        d / "per-query.parquet")
    (d / "metrics.json").write_text(json.dumps({"dev": {"mrr@10": float(dev.mean()), "ndcg@10": float(dev.mean())}}))
    (d / "train.json").write_text(json.dumps({"train_mrr@10": train}))
    return {"row": row, "arch": "de", "seed": 0, "dir": str(d)}


@pytest.fixture
def spec(tmp_path):
    up = np.minimum(BASE + np.array([0.3, 0.2, 0.0, 0.25, 0.3, 0.2, 0.0, 0.3, 0.2, 0.35]), 1)
    small = BASE + np.array([0.01, -0.01, 0, 0.02, 0, 0, 0, 0.01, 0, 0])
    rows = {"Base": (BASE, 0.60), "Up": (up, 0.50), "Small": (small, 0.61)}
    layout = {"name": "table9", "kind": "metrics", "evaluations": ["dev"],
              "cells": [run(tmp_path, r, v, t) for r, (v, t) in rows.items()],
              "params": {"columns": [{"evaluation": "train", "metric": "mrr@10"},
                                     {"evaluation": "dev", "metric": "mrr@10"}]}}
    dev = {"column": "dev mrr@10"}

    def claim(i, a, rel, b=None, **kw):
        c = {"id": i, "text": i, "where": "C.10", "table": "table9", "a": {"row": a, **dev}, "relation": rel, **kw}
        return {**c, "b": {"row": b, **dev}} if b else c

    cs = [claim("up>base", "Up", "greater", "Base"),            # large, significant
          claim("base>up", "Base", "greater", "Up"),            # significant the other way
          claim("small>base", "Small", "greater", "Base"),      # right sign, not significant
          claim("small~base", "Small", "within", "Base", threshold=0.01),
          claim("up~base", "Up", "within", "Base", threshold=0.01),
          claim("up>=base", "Up", "at_least", "Base", threshold=0.0),
          claim("up!>base", "Up", "not_greater", "Base"),
          claim("small!>base", "Small", "not_greater", "Base"),
          claim("base<0.5", "Base", "below", value=0.5),
          {**claim("train", "Up", "less", "Base"), "a": {"row": "Up", "column": "train mrr@10"},
           "b": {"row": "Base", "column": "train mrr@10"}},
          {**claim("gap", "Up", "greater", "Small"), "a": {"row": "Up", **dev, "minus": {"row": "Base", **dev}},
           "b": {"row": "Small", **dev, "minus": {"row": "Base", **dev}}},
          claim("no table", "Up", "greater", "Base", table="table4"),
          claim("no row", "Nope", "greater", "Base")]
    return {"tables": {"table9": layout}, "claims": cs, "significance": {"test": "t", "alpha": 0.05},
            "compare_to_paper": False}, {"Base": BASE, "Up": up, "Small": small}


def test_each_relation_gets_its_verdict_with_holm_over_the_tested_claims(spec, tmp_path):
    s, v = spec
    df = claims.evaluate(s).set_index("id")
    assert df["verdict"].to_dict() == {
        "up>base": "held", "base>up": "not held", "small>base": "not significant", "small~base": "held",
        "up~base": "not held", "up>=base": "held", "up!>base": "not held", "small!>base": "held",
        "base<0.5": "held", "train": "held", "gap": "held", "no table": "not run", "no row": "not run"}
    raw = {"up>base": by_hand_t(v["Up"], v["Base"]), "small>base": by_hand_t(v["Small"], v["Base"]),
           "gap": by_hand_t(v["Up"] - v["Base"], v["Small"] - v["Base"])}
    for k, p in raw.items():
        assert df.loc[k, "p"] == pytest.approx(p)
    tested = df["p"].dropna()
    assert len(tested) == 9  # every two-term claim with per-query scores on both sides
    order = tested.sort_values()
    holm = np.minimum(1, np.maximum.accumulate(order.to_numpy() * np.arange(len(order), 0, -1)))
    assert df.loc[order.index, "p_holm"].to_numpy() == pytest.approx(holm)
    assert df.loc["train", "test"].startswith("none: no per-query scores") and np.isnan(df.loc["train", "p"])
    assert df.loc["up>base", "diff"] == pytest.approx(v["Up"].mean() - v["Base"].mean())
    assert df.loc["no table", "note"] == "table4 is not in this configuration"
    assert "has no cell 'Nope' / 'dev mrr@10'" in df.loc["no row", "note"]

    out = tmp_path / "out"
    claims.render(s, str(out / "c.csv"), str(out / "c.md"), str(out / "s.csv"))
    md = (out / "c.md").read_text()
    assert "13 claims: 7 held, 3 not held, 1 not significant, 2 not run" in md
    assert "| up>base | up>base | C.10 | Up / dev mrr@10 = " in md and "**held** |" in md
    assert list(pd.read_csv(out / "s.csv").columns) == ["#", "Claim", "Where", "Measured", "Test", "Verdict"]


def test_a_claim_missing_a_key_or_with_a_bad_relation_names_it(spec):
    s, _ = spec
    bad = {**s, "claims": [{**s["claims"][0], "relation": "bigger"}]}
    with pytest.raises(InputError, match=r"claims\[0\] \(up>base\): relation 'bigger'"):
        claims.evaluate(bad)


def test_paper_versus_measured_within_the_seeds_range_or_the_tolerance():
    assert reproduction.status([0.30, 0.32], 0.31, 0.0) == ("OK", pytest.approx(0.0))
    assert reproduction.status([0.30, 0.302], 0.309, 0.01)[0] == "OK"     # outside the range, 0.008 from the mean
    assert reproduction.status([0.30, 0.32], 0.335, 0.01)[0] == "-0.025"  # outside both: ours − paper
    assert reproduction.status([0.30], 0.305, 0.01)[0] == "OK"
    assert reproduction.status([0.30], 0.32, 0.01)[0] == "-0.020"


def config() -> dict:
    c = yaml.safe_load((ROOT / "config.yaml").read_text())
    return c


def test_the_configs_claims_name_real_cells_and_hold_on_the_papers_numbers():
    """Every claim of config.yaml names a cell its result has, and, with the paper's published
    values as the measured figures (no test), each holds: the thresholds fit the paper."""
    c = config()
    spec = targets.claims_spec(c)
    assert len(spec["claims"]) >= 15
    assert {x["table"] for x in spec["claims"]} >= {"table1", "table2", "table4", "table5", "table6", "table7",
                                                  "table8", "table9", "table12", "figure1", "figure3"}
    grids = {n: cells.cells_of(layout) for n, layout in spec["tables"].items()}
    paper = {n: reproduction.published(n) for n in spec["tables"] if not n.startswith("figure")}
    # Figures 1 and 3 plot Table 2's numbers (and Table 1's M3SE row for DIST at 768).
    for fig in ("figure1", "figure3"):
        paper[fig] = {(f"{a} {enc}", f"{s} mrr@10"): v for (enc, col), v in paper["table2"].items()
                      for a, s in [col.split(" ")[:2]]}
    paper["figure1"][("DIST bert-6-768", "dev mrr@10")] = paper["table1"][("M3SE", "MSMARCO re-rank mrr@10")]
    paper["figure1"][("DIST bert-6-768", "train mrr@10")] = 0.50  # Figure 1: below the DE's 0.518

    def value(term, table):
        t = term.get("table", table)
        key = (term["row"], term["column"])
        assert key in grids[t], f"{t} has no cell {key}"
        return paper[t][key] - (value(term["minus"], t) if "minus" in term else 0.0)

    for x in spec["claims"]:
        a = value(x["a"], x["table"])
        b = value(x["b"], x["table"]) if "b" in x else x["value"]
        assert claims.verdict(x["relation"], a - b, x.get("threshold", 0.0), None) == "held", x["id"]


def test_the_claims_job_reads_only_what_the_runs_already_have():
    c = config()
    inputs = targets.claims_inputs(c)
    assert all(p.endswith(("/metrics.json", "/train.json", "/per-query.parquet")) for p in inputs)
    runs = {r.path(c["results_dir"]) for n in targets.claim_tables(c) for r in targets.runs_of(c, n)}
    assert {p.rsplit("/", 1)[0] for p in inputs} == runs
    assert targets.per_query_inputs(c, "table3") == []  # no baseline: no tests, no new inputs
    layout = targets.table_layout(c, grid.table1_layout(c), "table1")
    assert layout["significance"]["baselines"] == [{"row": "Dual-encoder BERT (6-layer)"}]


def test_paper_versus_measured_per_cell_under_the_paper_config(tmp_path):
    """Table 1 (three seeds of the one-hot DE) and Table 9 against the published values."""
    res = tmp_path / "results"
    for seed, mrr in enumerate((0.300, 0.306, 0.312)):  # spans the paper's 0.310 on MS MARCO dev
        d = res / "runs" / "msmarco" / "de-bert-6-768" / "one_hot" / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"dev": {"mrr@10": mrr, "ndcg@10": 0.40},
                                                    "dl19": {"mrr@10": 0.834, "ndcg@10": 0.5}}))
    t1 = {"columns": [{"name": "MSMARCO re-rank", "dataset": "msmarco", "evaluation": "dev"},
                      {"name": "TREC DL19 re-rank", "dataset": "msmarco", "evaluation": "dl19"}],
          "rows": [{"name": "Dual-encoder BERT (6-layer)", "arch": "de", "encoder": "bert-6-768", "loss": "one_hot"}],
          "seeds": [0, 1, 2], "results": str(res)}
    t9 = {"name": "table9", "kind": "metrics", "evaluations": ["dev"],
          "cells": [run(tmp_path, "Baseline DE", np.full(10, 0.295), 0.612)],
          "params": {"columns": [{"evaluation": "train", "metric": "mrr@10"},
                                 {"evaluation": "dev", "metric": "mrr@10"}]}}
    spec = {"tables": {"table1": t1, "table9": t9}, "tolerance": 0.01, "compare_to_paper": True}
    df = reproduction.compare(spec).set_index(["result", "row", "column"])
    de = "Dual-encoder BERT (6-layer)"
    assert df.loc[("table1", de, "MSMARCO re-rank mrr@10"), "status"] == "OK"            # within 0.300-0.312
    assert df.loc[("table1", de, "MSMARCO re-rank ndcg@10"), "status"] == "+0.040"       # 0.400 − 0.360
    assert df.loc[("table1", de, "TREC DL19 re-rank mrr@10"), "status"] == "OK"
    assert df.loc[("table1", de, "TREC DL19 re-rank ndcg@10"), "status"] == "-0.177"     # 0.5 − 0.677
    assert df.loc[("table9", "Baseline DE", "train mrr@10"), "status"] == "OK"           # one seed, 0.007 off
    assert df.loc[("table9", "Baseline DE", "dev mrr@10"), "status"] == "-0.015"         # beyond the 0.01
    assert df.loc[("table9", "Baseline DE", "dev mrr@10"), "diff"] == pytest.approx(-0.015)
    md = reproduction.markdown(df.reset_index(), spec)
    assert "| table1 | Dual-encoder BERT (6-layer) | MSMARCO re-rank mrr@10 | 0.310 | 0.306 (0.300–0.312) | OK |" in md
    assert "off" not in reproduction.markdown(df.reset_index().iloc[:0], {**spec, "compare_to_paper": False})
