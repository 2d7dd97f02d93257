"""The grid functions that common.smk calls, on the real config.yaml."""

from pathlib import Path

import yaml

from dualrank import grid
from dualrank.grid import Run
from dualrank.losses import LOSSES

ROOT = Path(__file__).resolve().parents[1]


def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_label_only_losses_are_those_without_teacher():
    assert grid.LABEL_ONLY_LOSSES == {n for n, c in LOSSES.items() if not c.needs_teacher}


def test_table1_runs_cover_rows_datasets_and_seeds():
    c = config()
    runs = grid.table_runs(c)
    trained = [r for r in runs if r.arch != "bm25"]
    # 7 trained rows x 2 datasets x 3 seeds, plus BM25 on each dataset.
    assert len(trained) == 7 * 2 * 3
    assert sum(r.arch == "bm25" for r in runs) == 2
    assert Run("msmarco", "de", "bert-6-768", "m3se", 2).path("results") == \
        "results/runs/msmarco/de-bert-6-768/m3se/seed2"


def test_train_spec_holds_only_its_own_loss():
    c = config()
    spec = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "softmax_ce", 0))
    assert spec["loss"] == {"name": "softmax_ce", "temperature": 1.0, "tau_squared": False}
    assert spec["k"] == 20 and spec["training"]["lr"] == 2.8e-5
    c["losses"]["m3se"]["k"] = 10
    assert grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "softmax_ce", 0)) == spec


def test_execution_keys_stay_out_of_the_spec():
    """checkpoint_every and processes change how a job runs, not its result: not in the spec
    (the rule's params, whose change would rerun every training job)."""
    c = config()
    run = Run("msmarco", "de", "bert-6-768", "softmax_ce", 0)
    spec = grid.train_spec(c, run)
    assert "checkpoint_every" not in spec["training"] and "processes" not in spec["training"]
    assert grid.train_execution(c, "msmarco") == {"checkpoint_every": 2000, "processes": 1}
    c["training"].update(checkpoint_every=7, processes=4)
    c["datasets"]["nq"]["training"] = {"processes": 2}
    assert grid.train_spec(c, run) == spec
    assert grid.train_execution(c, "msmarco") == {"checkpoint_every": 7, "processes": 4}
    assert grid.train_execution(c, "nq") == {"checkpoint_every": 7, "processes": 2}
    del c["training"]["checkpoint_every"]
    assert grid.train_execution(c, "msmarco")["checkpoint_every"] == c["training"]["eval_every"] == 10000


def test_groups_and_evaluations():
    c = config()
    assert grid.groups_path(c, "msmarco", "one_hot") == "data/msmarco/groups/labels-k20.parquet"
    assert grid.groups_path(c, "msmarco", "margin_mse") == "data/msmarco/groups/teacher-k2.parquet"
    names = [e["name"] for e in grid.evaluations(c, "msmarco", "ca")]
    assert names == ["dev", "dl19"]  # a CA model cannot retrieve
    bm25 = {e["name"]: e for e in grid.evaluations(c, "msmarco", "bm25")}
    assert bm25["dev-retrieval"]["candidates"] == "data/msmarco/bm25-dev.parquet"
