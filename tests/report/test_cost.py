"""`dualrank plan` and its estimates (dualrank.report.cost): FLOPs, GPU-hours and disk checked
against hand computation, the dry run's jobs parsed, and the command on the demo and the
paper's config (dry runs only)."""

import copy
import math
import re

import pytest
import yaml

from conftest import ROOT
from dualrank import cli
from dualrank.cli.plan import jobs_of, load_config
from dualrank.report import cost

PAPER = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_training_flops_by_hand():
    config = copy.deepcopy(PAPER)
    w = {"dataset": "msmarco", "arch": "de", "encoder": "bert-6-768", "loss": "m3se", "seed": "0"}
    p = 6 * (4 * 768**2 + 2 * 768 * 3072)  # 42,467,328 matmul parameters
    assert cost.matmul_params(cost.shape(config, "bert-6-768")) == p == 42_467_328
    # m3se: K = 20; a group is a 30 + 2 token query and 20 passages of 200 + 2 tokens.
    train = 6 * p * 300_000 * 128 * (32 + 20 * 202)
    # 30 validations of 500 x 1000 pairs and 1000 x 1000 train-eval pairs, 30 + 200 + 4 tokens each.
    scoring = 2 * p * (30 * 500 * 1000 + 1000 * 1000) * 234
    c = cost.train_cost(config, w)
    assert c.flops == pytest.approx(train + scoring)
    # A run a learning curve draws (Figure 4) scores train MRR@10 at step 0 and at all 30 evaluations.
    curve_scoring = 2 * p * (30 * 500 * 1000 + 31 * 1000 * 1000) * 234
    assert cost.train_cost(config, w, curve=True).flops == pytest.approx(train + curve_scoring)
    assert c.disk == 4 * (p + (30522 + 512) * 768)  # fp32 model with its embeddings
    # 989 TFLOP/s at 35 %: 346.15 TFLOP/s.
    assert cost.gpu_hours(config, 346.15e12 * 3600) == pytest.approx(1.0)


def test_a_ca_trains_on_joint_pairs_and_retrieval_encodes_the_corpus():
    config = copy.deepcopy(PAPER)
    ca = {"dataset": "msmarco", "arch": "ca", "encoder": "bert-2-128", "loss": "one_hot", "seed": "0"}
    p = 2 * (4 * 128**2 + 2 * 128 * 512)
    scoring = 2 * p * (30 * 500 * 1000 + 1000 * 1000) * 233
    assert cost.train_cost(config, ca).flops == pytest.approx(6 * p * 300_000 * 128 * 2 * 233 + scoring)
    de = {"dataset": "msmarco", "arch": "de", "encoder": "bert-6-768", "loss": "m3se", "seed": "0"}
    e = cost.evaluate_cost(config, de, cost.grid.retrieval_runs(config))
    p = 42_467_328
    rerank = 2 * p * (6980 * 1000 + 43 * 1000) * 234
    retrieval = 2 * p * (8_841_823 * 202 + 6980 * 32)
    assert e.flops == pytest.approx(rerank + retrieval)
    assert e.disk == (6980 + 43 + 6980) * 1000 * cost.RUN_ROW_BYTES


def test_jobs_are_parsed_from_the_dry_run():
    out = ("Building DAG of jobs...\n[Mon Nov 30 16:29:32 2026]\nrule train:\n    output: x\n    jobid: 3\n"
           "    wildcards: dataset=msmarco, arch=de, encoder=bert-6-768, loss=m3se, seed=0\n"
           "    resources: tmpdir=/tmp, gpu=1, mem_mb=32000, mem=32 GB\n\n[Mon Nov 30 16:29:32 2026]\n"
           "localrule table1:\n    output: results/table1.csv\n    jobid: 0\n")
    jobs = jobs_of(out)
    assert [j.rule for j in jobs] == ["train", "table1"]
    assert jobs[0].wildcards["encoder"] == "bert-6-768" and jobs[0].resources["mem_mb"] == "32000"


@pytest.mark.parametrize("overlay, target", [(["workflow/presets/demo.yaml"], "results/table1.csv"),
                                             ([], "results/all")])
def test_plan_of_a_target(workdir, overlay, target, capsys):
    args = [target, "--directory", str(workdir)] + [f"--configfile={o}" for o in overlay]
    assert cli.main(["plan", *args]) == 0
    out = capsys.readouterr().out
    config = load_config(str(workdir), overlay)
    train = re.search(r"^train +(\d+) +([\d,.]+) +([\d,.]+ [MG]B) +([\d.]+) GB +(-|[\d,.]+ GB)$", out, re.M)
    assert train, out
    assert int(train[1]) == (42 if target.endswith("csv") and not overlay else
                             129 if target == "results/all" else 28)
    assert float(train[4]) * 1000 == config["resources"]["train"]["mem_mb"]
    assert re.search(r"^total +\d+ +[\d,.]+ ", out, re.M)
    assert "streamed retrieval (msmarco dev-retrieval" in out
    if target == "results/all":  # every result's own total
        assert re.search(r"^  table1 +42 runs", out, re.M) and re.search(r"^  figure8 ", out, re.M)


def test_peak_rss_from_the_rehearsal_fits_by_hand():
    fits = {"sizes_at_1": {"msmarco_passages": 8_841_823, "nq_passages": 21_015_324},
            "stages": {"prepare/nq": {"rss_mb": {"a": 300.0, "b": 8000.0, "e": 0.5, "flat": False}},
                       "bm25_run/msmarco/dev": {"rss_mb": {"a": 100.0, "b": 1000.0, "e": 1.0, "flat": False}},
                       "aggregate/msmarco": {"rss_mb": {"a": 150.0, "b": 40.0, "e": None, "flat": True}},
                       "train/msmarco": {"rss_mb": {"model": "none (one fraction)", "e": None, "at_1": None}}}}
    config = copy.deepcopy(PAPER)
    # NQ at its real size: f = 1, 300 + 8000; at a quarter of the passages: 300 + 8000 * 0.5.
    assert cost.rehearsal_rss_mb(config, cost.Job("prepare_nq"), fits) == pytest.approx(8300.0)
    config["plan"]["datasets"]["nq"]["passages"] = 21_015_324 // 4
    assert cost.rehearsal_rss_mb(config, cost.Job("prepare_nq"), fits) == pytest.approx(4300.0, rel=1e-6)
    # A flat stage is extrapolated linearly; a stage fitted from one fraction gives nothing.
    job = cost.Job("groups", {"dataset": "msmarco", "kind": "teacher", "k": "20"})
    assert cost.rehearsal_rss_mb(config, job, fits) == pytest.approx(190.0)
    train = cost.Job("train", {"dataset": "msmarco", "arch": "de"})
    assert cost.rehearsal_rss_mb(config, train, fits) is None
    # BM25 searches by split: dev's fit at MS MARCO's real size (f = 1).
    bm25 = cost.Job("bm25_run", {"dataset": "msmarco", "split": "dev"})
    assert cost.rehearsal_rss_mb(config, bm25, fits) == pytest.approx(1100.0)
    # An exponent at the fit's grid edge is not determined by the points: no figure (NaN, "n.d.").
    fits["stages"]["bm25_run/msmarco/dev"]["rss_mb"].update(e=3.0, edge=True)
    assert math.isnan(cost.rehearsal_rss_mb(config, bm25, fits))
    assert cost.job_dataset(cost.Job("download", {"group": "teacher", "file": "x"})) == "msmarco"
