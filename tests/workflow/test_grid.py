"""The grid functions that common.smk calls, on the real config.yaml."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from dualrank import grid
from dualrank.data.io import InputError
from dualrank.grid import Run
from dualrank.losses import LOSSES

ROOT = Path(__file__).resolve().parents[2]


def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_label_only_losses_are_those_without_teacher():
    assert grid.LABEL_ONLY_LOSSES == {n for n, c in LOSSES.items() if not c.needs_teacher}
    assert grid.TRIPLET_LOSSES == set(LOSSES) - {"m3se", "softmax_ce"}


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
    # Triplet losses (K = 2) train on every triple (§5); the K-document losses on top-K groups.
    assert grid.groups_path(c, "msmarco", "one_hot") == "data/msmarco/groups/labels-triples.parquet"
    assert grid.groups_path(c, "msmarco", "margin_mse") == "data/msmarco/groups/teacher-triples.parquet"
    assert grid.groups_path(c, "msmarco", "softmax_ce") == "data/msmarco/groups/teacher-k20.parquet"
    # Table 6's K = 2 rows are the top-K aggregation at K = 2 (C.7), not the triples.
    assert grid.groups_path(c, "msmarco", "softmax_ce_k2") == "data/msmarco/groups/teacher-k2.parquet"
    assert grid.groups_path(c, "msmarco", "m3se_k2") == "data/msmarco/groups/teacher-k2.parquet"
    # NQ (Appendix B): one-hot CA and DE on 1 positive + 19 BM25 negatives, single-negative
    # models on one triple per question (its first hard negative); dev on the mixed candidates.
    assert grid.groups_path(c, "nq", "one_hot") == "data/nq/groups/labels-k20.parquet"
    assert grid.groups_path(c, "nq", "margin_mse") == "data/nq/groups/teacher-triples.parquet"
    assert grid.triplet_negatives(c, "nq") == 1 and grid.triplet_negatives(c, "msmarco") is None
    assert grid.train_spec(c, Run("nq", "ca", "bert-base", "one_hot", 0))["k"] == 20
    assert grid.train_spec(c, Run("msmarco", "ca", "bert-base", "one_hot", 0))["k"] == 2
    assert grid.evaluations(c, "nq", "de")[0]["candidates"] == "data/nq/mixed-dev.parquet"
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


def test_only_learning_curve_runs_score_train_mrr_at_every_evaluation():
    c = config()
    assert grid.curve_runs(c) == {Run("msmarco", "ca", "bert-6-768", "one_hot", 0),
                                  Run("msmarco", "de", "bert-6-768", "one_hot", 0),
                                  Run("msmarco", "de", "bert-6-768", "m3se", 0)}
    del c["experiments"]["figure4"]
    assert grid.curve_runs(c) == set()


# -- Each result shows the paper's runs (issue 12, item 7) --------------------------------------

@pytest.mark.parametrize("table, student", [("table4", "bert-6-128"), ("table5", "bert-2-768")])
def test_tables_4_and_5_show_table1s_bert_base_ca_beside_their_students(table, student):
    """C.6 prints the CA row of Table 1 (0.370 / 0.430) in both tables: the bert-base CA, not a
    CA of the student's size; the DE rows are students of the table's encoder."""
    c = config()
    cells = {x["method"]: x for x in grid.experiment_cells(c, table)}
    ca = cells.pop("Cross-attention one-hot")
    assert (ca["arch"], ca["encoder"], ca["loss"]) == ("ca", "bert-base", "one_hot")
    assert ca["dir"] == "results/runs/msmarco/ca-bert-base/one_hot/seed0"
    assert Run("msmarco", "ca", "bert-base", "one_hot", 0) in grid.table_runs(c)
    assert [r.arch for r in grid.experiment_runs(c, table)].count("ca") == 1
    assert {x["arch"] for x in cells.values()} == {"de"} and {x["encoder"] for x in cells.values()} == {student}
    assert [x["loss"] for x in cells.values()] == ["one_hot", "mse", "margin_mse", "softmax_ce", "m3se"]


def test_figure2_distils_with_softmax_ce_and_figure8_with_m3se():
    """§5.1: "Figure 2 (right) shows that softmax cross-entropy distillation makes the DE scores
    better behaved"; C.5: "Figure 8: M3SE distillation model margins"."""
    c = config()
    for figure, loss in (("figure2", "softmax_ce"), ("figure8", "m3se")):
        cells = {x["method"]: x for x in grid.experiment_cells(c, figure)}
        assert list(cells) == ["CA", "DE", "DIST"]
        assert (cells["DIST"]["arch"], cells["DIST"]["encoder"], cells["DIST"]["loss"]) == ("de", "bert-6-768", loss)
        # DIST is Table 1's run of that loss (seed 0), not one trained for the figure.
        assert Run("msmarco", "de", "bert-6-768", loss, 0) in grid.table_runs(c)
    assert grid.experiment_runs(c, "figure2")[:2] == grid.experiment_runs(c, "figure8")[:2]


def test_only_table8_runs_train_without_early_stopping():
    """C.9 reports Table 8 "after 300,000 steps of training", α = 0 included (its own run: the
    paper prints 0.308 there, 0.310 for Table 9's early-stopped baseline); every other run keeps
    early stopping, and a spec that does not set the key does not hold it (the rule's params,
    hence Table 1's jobs, stay as they were)."""
    c = config()
    table8 = {r.loss for r in grid.experiment_runs(c, "table8")}
    assert table8 == {f"one_hot_k2_ls{a}" for a in ("0.0", "0.1", "0.2", "0.3", "0.9", "0.99")}
    for loss in c["losses"]:
        spec = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", loss, 0))
        assert spec["training"].get("early_stopping", True) is (loss not in table8), loss
        assert ("early_stopping" in spec["training"]) is (loss in table8), loss
    ls0 = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "one_hot_k2_ls0.0", 0))
    base = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "one_hot", 0))
    assert {**ls0, "training": {k: v for k, v in ls0["training"].items() if k != "early_stopping"}} == base
    assert Run("msmarco", "de", "bert-6-768", "one_hot", 0) in grid.experiment_runs(c, "table9")


def test_one_one_hot_de_on_triplets_for_tables_1_9_and_12():
    """The paper's one-hot DE is one model (0.310 in Tables 1, 9 and 12): one run path, trained
    on the triples; Table 12's negative-mining variant and Table 8's rows too are K = 2."""
    c = config()
    de = Run("msmarco", "de", "bert-6-768", "one_hot", 0)
    table1 = [r for r in grid.table_runs(c) if r.dataset == "msmarco" and r.loss == "one_hot" and r.seed == 0]
    assert de in table1 and Run("msmarco", "ca", "bert-base", "one_hot", 0) in table1
    baselines = {name: [x["dir"] for x in grid.experiment_cells(c, name) if x["row"] == row][0]
                 for name, row in (("table9", "Baseline DE"), ("table12", "One-hot Softmax CE"))}
    assert set(baselines.values()) == {de.path(c["results_dir"])}
    assert grid.groups_path(c, "msmarco", "one_hot") == "data/msmarco/groups/labels-triples.parquet"
    assert "one_hot_k2" not in c["losses"]
    for loss in ("one_hot_negs", *(x for x in c["losses"] if x.startswith("one_hot_k2_ls"))):
        assert grid.groups_path(c, "msmarco", loss) == "data/msmarco/groups/labels-triples.parquet", loss


def test_a_dataset_overrides_a_loss_variant_for_its_runs_only():
    c = config()
    c["datasets"]["nq"]["losses"]["m3se"] = {"k": 10, "training": {"dropout": 0.2}}
    c["losses"]["m3se"]["training"] = {"lr": 1e-4}
    nq = grid.train_spec(c, Run("nq", "de", "bert-6-768", "m3se", 0))
    ms = grid.train_spec(c, Run("msmarco", "de", "bert-6-768", "m3se", 0))
    assert (nq["k"], nq["training"]["dropout"], nq["training"]["lr"]) == (10, 0.2, 1e-4)
    assert (ms["k"], ms["training"]["dropout"], ms["training"]["lr"]) == (20, 0.1, 1e-4)
    validate(c)
    c["datasets"]["nq"]["losses"]["nope"] = {"k": 3}
    with pytest.raises(InputError, match=r"datasets\.nq\.losses: unknown loss variant 'nope'"):
        grid.check_config(c)


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
    # The demo's middle snapshot is Figure 7's "after 10k steps" of 300k: 1/30 of its max_steps.
    assert demo["training"]["snapshot_steps"] == [round(demo["training"]["max_steps"] / 30)]
    assert demo["training"]["token_dropout"] == 0.0
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


# -- Table 1's layout and inputs, the result names, the config checks ----------------------------

def test_table1_layout_and_inputs_come_from_the_config():
    c = config()
    layout = grid.table1_layout(c)
    assert list(layout) == ["columns", "rows", "seeds", "results", "compare_to_paper", "provenance"]
    assert layout["provenance"]["preset"] == "paper" and layout["provenance"]["seeds"] == [0, 1, 2]
    assert layout["provenance"]["encoders"] == {"bert-base": {"layers": 12, "hidden": 768},
                                                "bert-6-768": {"layers": 6, "hidden": 768}}
    assert layout["rows"] == c["table1"]["rows"] and layout["columns"] == c["table1"]["columns"]
    assert (layout["seeds"], layout["results"], layout["compare_to_paper"]) == ([0, 1, 2], "results", True)
    inputs = grid.table1_inputs({**c, "results_dir": "out"})
    assert len(inputs) == 2 + 7 * 2 * 3 and all(p.endswith("/metrics.json") for p in inputs)
    assert inputs[:3] == ["out/runs/msmarco/bm25/metrics.json", "out/runs/nq/bm25/metrics.json",
                          "out/runs/msmarco/ca-bert-base/one_hot/seed0/metrics.json"]


def test_experiment_names_split_tables_from_figures_in_config_order():
    c = config()
    assert grid.experiment_names(c, "table") == [f"table{i}" for i in range(2, 13)]
    figures = grid.experiment_names(c, "figure")
    assert sorted(figures) == [f"figure{i}" for i in range(1, 9)] and figures[:3] == ["figure1", "figure3", "figure2"]
    assert grid.experiment_names({k: v for k, v in c.items() if k != "experiments"}, "table") == []


def test_alternatives_match_exactly_the_names():
    import re

    pattern = grid.alternatives(["msmarco", "a.b"])
    assert re.fullmatch(pattern, "a.b") and re.fullmatch(pattern, "msmarco")
    assert not re.fullmatch(pattern, "axb") and not re.fullmatch(pattern, "msmarco2")
    assert not re.fullmatch(grid.alternatives([]), "") and not re.fullmatch(grid.alternatives([]), "x")


def small() -> dict:
    """A config with every cross-reference check_config follows, all of them valid."""
    ev = {"dev": {"mode": "rerank", "rel_level": 1, "depth": 10}}
    return {
        "encoders": {"tiny": {"init": {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64}},
                     "base": {"hf_id": "bert-base-uncased"},
                     "local": {"path": "models/x", "hf_id": None}},
        "losses": {"one_hot": {"loss": "one_hot", "k": 2}, "m3se": {"loss": "m3se", "k": 2}},
        "datasets": {"msmarco": {"source": "msmarco", "valid_split": "valid", "teacher": {"source": "published"},
                                 "evaluations": {n: dict(e) for n, e in ev.items()}},
                     "nq": {"source": "synthetic", "valid_split": "valid",
                            "synthetic": {"splits": ["train", "valid", "dev"]},
                            "teacher": {"source": "ca", "encoder": "base", "variant": "one_hot", "seed": 0},
                            "evaluations": {n: dict(e) for n, e in ev.items()}}},
        "table1": {"columns": [{"name": "NQ", "dataset": "nq", "evaluation": "dev"}],
                   "rows": [{"name": "BM25", "arch": "bm25"},
                            {"name": "M3SE", "arch": "de", "encoder": "tiny", "loss": "m3se"}]},
        "experiments": {
            "table4": {"kind": "metrics", "dataset": "msmarco", "evaluations": ["dev"], "encoders": ["tiny"],
                       "methods": {"CA": {"arch": "ca", "loss": "one_hot"},
                                   "DE": {"arch": "de", "loss": "m3se", "encoder": "base"}}},
            "table7": {"kind": "metrics", "dataset": "nq", "evaluations": ["dev"],
                       "rows": [{"name": "CA", "arch": "ca", "encoder": "local", "loss": "one_hot"}]}},
    }


def test_check_config_passes_the_real_the_demo_and_a_small_config():
    grid.check_config(config())
    grid.check_config(merged(config(), yaml.safe_load((ROOT / "workflow/presets/demo.yaml").read_text())))
    grid.check_config(small())
    c = small()
    del c["experiments"]                                    # experiments are optional
    grid.check_config(c)


def _set(*keys, value):
    """A change to small(): the value at the path of keys (int keys index lists)."""
    def change(c):
        node = c
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return change


BROKEN = {
    "encoder with two sources": (_set("encoders", "tiny", "hf_id", value="bert-base-uncased"),
                                 r"encoders\.tiny: give exactly one of hf_id, path, init \(got \['hf_id', 'init'\]\)"),
    "encoder with no source": (_set("encoders", "local", "path", value=None),
                               r"encoders\.local: give exactly one of hf_id, path, init \(got \[\]\)"),
    "table1 row encoder": (_set("table1", "rows", 1, "encoder", value="huge"),
                           r"table1\.rows 'M3SE': unknown encoder 'huge'"),
    "table1 row loss": (_set("table1", "rows", 1, "loss", value="kl"), r"table1\.rows 'M3SE': unknown loss 'kl'"),
    "table1 column evaluation": (_set("table1", "columns", 0, "evaluation", value="test"),
                                 r"table1\.columns 'NQ': no evaluation 'test' in datasets\.nq"),
    "table1 column dataset": (_set("table1", "columns", 0, "dataset", value="trec"),
                              r"table1\.columns 'NQ': no evaluation 'dev' in datasets\.trec"),
    "experiment dataset": (_set("experiments", "table4", "dataset", value="trec"),
                           r"experiments\.table4\.dataset: unknown dataset 'trec'"),
    "experiment evaluation": (_set("experiments", "table7", "evaluations", value=["dev", "dl19"]),
                              r"experiments\.table7\.evaluations: no evaluation 'dl19' in datasets\.nq"),
    "experiment encoders": (_set("experiments", "table4", "encoders", value=["tiny", "huge"]),
                            r"experiments\.table4: unknown encoder 'huge'"),
    "experiment method encoder": (_set("experiments", "table4", "methods", "DE", "encoder", value="huge"),
                                  r"experiments\.table4: unknown encoder 'huge'"),
    "experiment row encoder": (_set("experiments", "table7", "rows", 0, "encoder", value="huge"),
                               r"experiments\.table7: unknown encoder 'huge'"),
    "experiment method loss": (_set("experiments", "table4", "methods", "CA", "loss", value="kl"),
                               r"experiments\.table4: unknown loss variant 'kl'"),
    "experiment row loss": (_set("experiments", "table7", "rows", 0, "loss", value="kl"),
                            r"experiments\.table7: unknown loss variant 'kl'"),
    "CA teacher encoder": (_set("datasets", "nq", "teacher", "encoder", value="huge"),
                           r"datasets\.nq\.teacher: a CA teacher needs a known encoder and variant"),
    "CA teacher variant": (_set("datasets", "nq", "teacher", "variant", value="kl"),
                           r"datasets\.nq\.teacher: a CA teacher needs a known encoder and variant"),
    "CA teacher distilled from itself": (_set("datasets", "nq", "teacher", "variant", value="m3se"),
                                         r"datasets\.nq\.teacher\.variant: 'm3se' learns from this teacher, "
                                         r"which would then depend on itself; name a variant of loss focal or one_hot"),
    "valid split of a real source": (_set("datasets", "msmarco", "valid_split", value="validation"),
                                     r"datasets\.msmarco\.valid_split: no split 'validation' in dataset msmarco; "
                                     r"its splits: train, valid, dev, dl19"),
    "valid split of a synthetic source": (_set("datasets", "nq", "valid_split", value="dl19"),
                                          r"datasets\.nq\.valid_split: no split 'dl19' in dataset nq; "
                                          r"its splits: train, valid, dev"),
    "evaluation split": (_set("datasets", "nq", "evaluations", "dev", "split", value="test"),
                         r"datasets\.nq\.evaluations\.dev\.split: no split 'test' in dataset nq; "
                         r"its splits: train, valid, dev"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_check_config_names_the_broken_key(case):
    change, message = BROKEN[case]
    c = small()
    change(c)
    # InputError is a ValueError, what common.smk raised before.
    with pytest.raises(InputError, match=f"^config key {message}$"):
        grid.check_config(c)


def reported_files(c) -> set[str]:
    """Every file an evaluation of any result reads: queries, qrels and candidates."""
    out = set()
    for ds in c["datasets"]:
        for arch in ("bm25", "ca", "de", "colbert"):
            for e in grid.evaluations(c, ds, arch):
                out |= {e["queries"], e["qrels"], e.get("candidates", e["queries"])}
    return out


def all_runs(c) -> list[Run]:
    runs = [r for r in grid.table_runs(c) if r.arch != "bm25"]
    return runs + [r for name in c["experiments"] for r in grid.experiment_runs(c, name)]


def test_validation_never_reads_a_reported_query_file():
    """Issue 12 item 5, on the paper config: every run's early stopping reads a held-out split
    (MS MARCO dev outside dev-small, NQ's held-out training questions) whose files are none
    of an evaluation's, nor the train-eval split's."""
    c = config()
    reported = reported_files(c)
    assert {c["datasets"][ds]["valid_split"] for ds in c["datasets"]} == {"valid"}
    for run in all_runs(c):
        valid = grid.validation_files(c, run.dataset)
        assert not set(valid.values()) & reported, run
        assert not set(valid.values()) & set(grid.train_eval_files(c, run.dataset).values())
    assert grid.validation_files(c, "msmarco") == {
        "valid_candidates": "data/msmarco/bm25-valid.parquet", "valid_queries": "data/msmarco/queries-valid.parquet",
        "valid_qrels": "data/msmarco/qrels-valid.parquet"}
    # The old set-up, early stopping on the dev-small queries that are reported, is caught.
    c["datasets"]["msmarco"]["valid_split"] = "dev"
    assert set(grid.validation_files(c, "msmarco").values()) <= reported


def test_every_model_of_a_result_shares_one_train_mrr_set():
    """Issue 12 item 6: every train job of Table 2 (and of every result) gets the same
    train-eval files, BM25's candidates of the train-eval split, none of them reported."""
    c = config()
    runs = grid.experiment_runs(c, "table2")
    assert {r.arch for r in runs} == {"ca", "de"} and len({r.encoder for r in runs}) == 9
    sets = {tuple(sorted(grid.train_eval_files(c, r.dataset).items())) for r in runs}
    assert sets == {(("train_eval_candidates", "data/msmarco/bm25-train-eval.parquet"),
                     ("train_eval_qrels", "data/msmarco/qrels-train-eval.parquet"),
                     ("train_eval_queries", "data/msmarco/queries-train-eval.parquet"))}
    for name in ("figure1", "figure3", "figure4", "table8"):
        assert {tuple(sorted(grid.train_eval_files(c, r.dataset).items())) for r in grid.experiment_runs(c, name)} \
            == sets
    assert not {f for r in all_runs(c) for f in grid.train_eval_files(c, r.dataset).values()} & reported_files(c)


def test_priorities_put_the_teacher_and_trainings_bm25_first():
    c = config()
    nq_teacher = grid.teacher_run(c, "nq")
    assert grid.train_priority(c, nq_teacher) == grid.GATE
    # MS MARCO's teacher is published (no CA trains for it): its CA is an ordinary run.
    assert grid.train_priority(c, Run("msmarco", "ca", "bert-base", "one_hot", 0)) == grid.TRAINING
    assert grid.train_priority(c, dataclasses.replace(nq_teacher, seed=1)) == grid.TRAINING
    assert grid.GATE > grid.TRAINING > grid.REST
    assert grid.bm25_priority(c, "msmarco", "valid") == grid.TRAINING
    assert grid.bm25_priority(c, "nq", "train-eval") == grid.TRAINING
    assert grid.bm25_priority(c, "msmarco", "dl19") == grid.REST


def test_pretrain_spec_only_for_encoders_with_a_pretrain_section():
    paper = config()
    nq = {**paper["datasets"]["nq"], "training": {"query_length": 16}}
    cfg = {**paper, "datasets": {**paper["datasets"], "nq": nq}}
    pre = {"ict_steps": 10, "batch_size": 8, "lr": 1e-3}
    tiny = {"init": {"layers": 1, "hidden": 16, "heads": 1, "intermediate": 32}, "pretrain": pre}
    cfg["encoders"] = {**paper["encoders"], "tiny": tiny, "hub": {"hf_id": "bert-base-uncased", "pretrain": pre}}
    assert grid.pretrain_spec(cfg, "msmarco", "bert-6-768") is None
    spec = grid.pretrain_spec(cfg, "nq", "tiny")
    assert spec["encoder"]["pretrain"] == pre
    assert (spec["query_length"], spec["passage_length"]) == (16, paper["training"]["passage_length"])
    with pytest.raises(InputError, match=r"encoders.hub.pretrain: only an `init` encoder"):
        grid.pretrain_spec(cfg, "msmarco", "hub")
