"""The scale rehearsal (tools/bench/scale*.py): its generated files read by the pipeline's own
readers, its fits against known curves, and (slow) the whole rehearsal at 0.3 %."""

import re
from pathlib import Path

import pytest

from tools.bench import scale, scale_data, scale_fit


def test_sizes_are_fractions_of_the_real_counts_by_hand():
    n = scale_data.sizes(0.003)
    # 0.003 x 8,841,823 = 26,525.5 -> 26,525 (round half to even); 0.003 x 39,780,811 = 119,342.4.
    assert n["msmarco_passages"] == 26_525 and n["msmarco_triples"] == 119_342
    assert n["nq_passages"] == 63_046 and n["nq_train_questions"] == 177 and n["msmarco_dev_queries"] == 21
    assert n["dl19_judged_queries"] == 43 and n["candidates_per_query"] == 1000  # fixed
    with pytest.raises(ValueError, match="fewer than twice"):
        scale_data.sizes(0.0001)


def test_generated_files_read_by_the_pipelines_readers(tmp_path):
    from dualrank.data.formats import dpr, msmarco, trec

    manifest = scale_data.build(tmp_path, 0.0003)
    n = manifest["counts"]
    import tarfile

    with tarfile.open(tmp_path / "msmarcoranking/collectionandqueries.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    corpus = msmarco.read_collection(tmp_path / "x/collection.tsv")
    assert len(corpus) == n["msmarco_passages"] == 2653
    lengths = corpus["text"].str.split().map(len)
    assert lengths.between(20, 100).all()
    with tarfile.open(tmp_path / "msmarcoranking/top1000.dev.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    top = msmarco.read_top1000(tmp_path / "x/top1000.dev")
    assert len(top) == 1000 * n["msmarco_dev_queries"]
    assert top.groupby("query_id")["doc_id"].nunique().eq(1000).all()
    # A passage's text is the same in the candidates file as in the collection.
    _, pid, _, text = (tmp_path / "x/top1000.dev").read_text().splitlines()[7].split("\t")
    assert text == corpus.set_index("doc_id").loc[pid, "text"]
    qrels = trec.read_qrels(tmp_path / "trec/2019qrels-pass.txt")
    assert len(qrels) == 9260 and qrels["query_id"].nunique() == 43
    scores = msmarco.read_teacher_scores(tmp_path / "zenodo/bertbase_cat_msmarcopassage_train_scores_ids.tsv")
    assert len(scores) == n["msmarco_triples"] == 11_934
    nq = dpr.read_dpr_json(tmp_path / "dpr/biencoder-nq-train.json.gz")
    assert len(nq.queries) == n["nq_train_questions"] == 18
    passages = dpr.read_dpr_passages(tmp_path / "dpr/psgs_w100.tsv.gz")
    assert len(passages) == n["nq_passages"] == 6305


def test_fit_recovers_a_known_curve():
    f = [0.003, 0.01, 0.03, 0.1]
    y = [300 + 5000 * x**0.8 for x in f]  # hand-picked a, b, e
    r = scale_fit.fit(f, y, "rss_mb")
    assert r["e"] == pytest.approx(0.8, abs=0.01) and r["at_1"] == pytest.approx(5300, rel=0.01)
    # Three fractions determine the three numbers.
    r = scale_fit.fit(f[:3], y[:3], "rss_mb")
    assert r["e"] == pytest.approx(0.8, abs=0.01)
    # Two: the plain log-log line through both points (slope by hand).
    r = scale_fit.fit([0.01, 0.04], [10.0, 40.0], "wall_s")
    assert r["e"] == pytest.approx(1.0) and r["at_1"] == pytest.approx(1000.0)
    assert scale_fit.fit([0.01], [3.0], "wall_s")["e"] is None


def test_a_flat_stage_gets_no_exponent_and_a_linear_bound():
    r = scale_fit.fit([0.003, 0.01, 0.03], [400.0, 402.0, 401.0], "rss_mb")
    assert r["flat"] and r["e"] is None
    assert 400 <= r["at_1"] < 460  # 2 MB of noise over 0.027 of the data at most +74 MB at 1


def test_targets_and_final_line():
    fits = {"train/msmarco": {"wall_s": {"e": 1.0, "at_1": 100.0}, "rss_mb": {"e": 1.0, "at_1": 9 * 1024.0},
                              "disk_mb": {"e": None, "at_1": 1.0}},
            "prepare/nq": {"wall_s": {"e": 1.3, "at_1": 10.0}, "rss_mb": {"e": 0.5, "at_1": 12 * 1024.0},
                           "disk_mb": {"e": 1.0, "at_1": 1.0}}}
    assert scale_fit.meets("train/msmarco", fits["train/msmarco"]) == (False, "peak RSS 9.0 GB > 8 GB")
    assert scale_fit.meets("prepare/nq", fits["prepare/nq"])[1] == "time exponent 1.30 > 1.15"
    assert scale_fit.final_line(fits) == ("scale: max extrapolated peak RSS 12.00 GB (prepare/nq), "
                                          "max time exponent 1.30 (prepare/nq)")


def test_stage_names():
    assert scale.stage_of_benchmark(Path("benchmarks/data/nq.tsv")) == "prepare/nq"
    assert scale.stage_of_benchmark(Path("benchmarks/download/teacher/x.tsv")) == "download/msmarco"
    assert scale.stage_of_benchmark(Path("benchmarks/evaluate/msmarco/bm25.tsv")) == "evaluate_bm25/msmarco"
    assert scale.stage_of_benchmark(Path("benchmarks/evaluate/msmarco/de-x/l/seed0.tsv")) == "evaluate/msmarco"
    assert scale.stage_of_benchmark(Path("benchmarks/bm25_run/msmarco/train-eval.tsv")) == "bm25_run/msmarco/train-eval"
    assert scale.stage_of_output("bm25_run", "data/nq/bm25-dev.parquet") == "bm25_run/nq/dev"
    assert scale.stage_of_output("groups", "data/msmarco/groups/teacher-k20.parquet") == "aggregate/msmarco"
    assert scale.stage_of_output("download", "data/downloads/teacher/t1.tsv") == "download/msmarco"


STAGES = ["download/msmarco", "download/nq", "extract/msmarco", "prepare/msmarco", "prepare/nq",
          "bm25_index/msmarco", "bm25_index/nq", "bm25_run/msmarco/dev", "bm25_run/msmarco/dl19",
          "bm25_run/msmarco/valid", "bm25_run/msmarco/train-eval", "bm25_run/nq/dev", "teacher_import/msmarco",
          "aggregate/msmarco", "aggregate/nq", "tokenizer/msmarco", "train_eval_split/msmarco", "train/msmarco",
          "evaluate/msmarco", "evaluate_bm25/msmarco", "evaluate_bm25/nq"]


@pytest.mark.slow
@pytest.mark.timeout(420)  # about 4 minutes on an idle 2-core machine
def test_rehearsal_at_three_per_mille(capsys):
    assert scale.main(["--fractions", "0.003"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    for stage in STAGES:
        row = re.search(rf"^{re.escape(stage)}\s+0\.003\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)$", out, re.M)
        assert row, f"{stage} missing:\n{out}"
        jobs, wall, rss, disk = int(row[1]), float(row[2]), float(row[3]), float(row[4])
        assert jobs >= 1 and wall > 0 and 0 < rss < 16 * 1024 and disk >= 0  # a download: a few MB
    m = re.fullmatch(r"scale: max extrapolated peak RSS (n/a \(no fit\)|[\d.]+ GB \(\S+\)), "
                     r"max time exponent (n/a \(no fit\)|[\d.]+ \(\S+\))", lines[-1])
    assert m and m[1] == m[2] == "n/a (no fit)", lines[-1]  # one fraction: nothing is fitted
