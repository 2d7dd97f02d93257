"""The grid functions that common.smk calls, on the real config.yaml."""

from pathlib import Path

import yaml

from dualrank import grid
from dualrank.grid import Run
from dualrank.losses import LOSSES

ROOT = Path(__file__).resolve().parents[2]


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


def test_every_result_is_a_target_and_shares_its_runs():
    c = config()
    files = grid.result_files(c)
    assert {f"results/table{i}.csv" for i in range(1, 13)} <= set(files)
    assert {f"results/figure{i}.png" for i in range(1, 9)} <= set(files)
    # Table 2 and Figure 1 need the same bert-6-768 DE one-hot run as Table 1: one path.
    t1 = set(grid.table_runs(c))
    shared = Run("msmarco", "de", "bert-6-768", "one_hot", 0)
    assert shared in t1 and shared in grid.experiment_runs(c, "table2") \
        and shared in grid.experiment_runs(c, "figure1")
    # 9 encoders x (CA, DE) x 3 seeds; Figure 1 adds M3SE for the four 6-layer models.
    assert len(grid.experiment_runs(c, "table2")) == 9 * 2 * 3
    assert len(grid.experiment_runs(c, "figure1")) == 4 * 3 * 3


def test_experiment_cells_carry_rows_methods_and_shapes():
    c = config()
    cells = grid.experiment_cells(c, "figure1")
    first = cells[0]
    assert (first["row"], first["method"], first["arch"], first["loss"], first["seed"]) == \
        ("CA", "CA", "ca", "one_hot", 0)
    assert (first["layers"], first["hidden"]) == (6, 128)
    assert first["dir"] == "results/runs/msmarco/ca-bert-6-128/one_hot/seed0"
    assert first["encoder"] == "bert-6-128"
    assert grid.encoder_shape(c, "bert-base") == {"layers": 12, "hidden": 768}
    assert [x["row"] for x in grid.experiment_cells(c, "table2")][:6:3] == ["bert-2-128", "bert-2-128"]
    rows = [x["row"] for x in grid.experiment_cells(c, "table8")]
    assert rows == ["0.0", "0.1", "0.2", "0.3", "0.9", "0.99"]  # config order, one seed


def test_only_runs_with_a_retrieval_result_build_an_index():
    c = config()
    # Table 1's DE rows show MS MARCO retrieval; Table 8's label-smoothing runs do not.
    t1_de = Run("msmarco", "de", "bert-6-768", "m3se", 1)
    ls = Run("msmarco", "de", "bert-6-768", "one_hot_k2_ls0.1", 0)
    names = lambda run: [e["name"] for e in grid.evaluations(c, "msmarco", "de", run)]  # noqa: E731
    assert names(t1_de) == ["dev", "dl19", "dev-retrieval"]
    assert names(ls) == ["dev", "dl19"]
    assert [e["name"] for e in grid.evaluations(c, "msmarco", "bm25", Run("msmarco", "bm25"))] == \
        ["dev", "dl19", "dev-retrieval"]
def merged(base: dict, overlay: dict) -> dict:
    """Snakemake's --configfile overlay: nested dictionaries are updated key by key."""
    out = dict(base)
    for k, v in overlay.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def validate(c):
    import jsonschema

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    jsonschema.validate(c, schema)


def test_a_loss_variant_overrides_training_keys_of_its_runs_only():
    c = config()
    c["datasets"]["msmarco"]["training"] = {"dropout": 0.15, "lr": 1e-5}
    c["losses"]["one_hot_dropout"] = {"loss": "one_hot", "k": 20, "training": {"dropout": 0.3}}
    c["losses"]["m3se_negatives"] = {"loss": "m3se", "k": 20,
                                     "training": {"in_batch_negatives": True, "uniform_negatives": 128}}
    validate(c)
    spec = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "one_hot_dropout", 0))
    # The variant beats the dataset, which beats the defaults; the loss itself gets no key.
    assert spec["training"]["dropout"] == 0.3 and spec["training"]["lr"] == 1e-5
    assert spec["loss"] == {"name": "one_hot"}
    neg = grid.train_spec(c, Run("nq", "de", "bert-6-768", "m3se_negatives", 0))["training"]
    assert neg["in_batch_negatives"] is True and neg["uniform_negatives"] == 128 and neg["dropout"] == 0.1
    plain = grid.train_spec(c, Run("nq", "de", "bert-6-768", "one_hot", 0))["training"]
    assert plain["in_batch_negatives"] is False and plain["snapshot_steps"] == [10000]
    assert grid.groups_path(c, "nq", "m3se_negatives") == "data/nq/groups/teacher-k20.parquet"


def test_schema_checks_the_new_training_keys_everywhere():
    import jsonschema
    import pytest

    demo = merged(config(), yaml.safe_load((ROOT / "workflow/presets/demo.yaml").read_text()))
    validate(demo)
    assert demo["training"]["snapshot_steps"] == [13] and demo["training"]["token_dropout"] == 0.0
    for where, bad in ((("training",), {"token_dropout": 1.0}), (("training",), {"uniform_negatives": -1}),
                       (("training",), {"mlm_probability": 0}), (("training",), {"snapshot_steps": [0]}),
                       (("losses", "m3se", "training"), {"in_batch_negatives": "yes"}),
                       (("losses", "m3se", "training"), {"lrate": 1})):
        c = config()
        node = c
        for k in where[:-1]:
            node = node[k]
        node[where[-1]] = {**node.get(where[-1], {}), **bad}
        with pytest.raises(jsonschema.ValidationError):
            validate(c)
