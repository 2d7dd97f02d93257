"""The data, candidate, teacher, aggregation and evaluation stages on real-format samples.

A loopback HTTP server (tools.sample_server) serves every upstream file of config.yaml
in its exact format, built from ../shared/data; Snakemake runs the real DAG with the
workflow/presets/real-sample.yaml overlay (only the port is changed) -- downloads with md5
checks, tar/gzip extraction, prepare, BM25 with pyserini, teacher import, aggregation and the
BM25 evaluation -- and the tables are checked against the counts in the PROVENANCE files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tools import sample_server

ROOT = Path(__file__).resolve().parents[2]
PRESET = ROOT / "workflow/presets/real-sample.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    shared = sample_server.default_shared()
    if not (shared / "data").exists():
        pytest.skip(f"{shared / 'data'} not present (set DUALRANK_SHARED)")
    root = tmp_path_factory.mktemp("served")
    manifest = sample_server.build(root, shared)
    httpd = sample_server.serve(root, 0)
    yield root, httpd, manifest
    httpd.shutdown()
    httpd.server_close()


def provenance(shared_data: Path, folder: str) -> str:
    return (shared_data / folder / "PROVENANCE.txt").read_text()


def test_committed_preset_matches_a_fresh_build(served):
    _, _, manifest = served
    committed = yaml.safe_load(PRESET.read_text())
    assert committed == sample_server.preset(sample_server.DEFAULT_PORT, manifest), (
        "workflow/presets/real-sample.yaml is stale: regenerate it with python -m "
        "tools.sample_server --root DIR --rebuild --write-preset workflow/presets/real-sample.yaml")


def test_server_answers_ranges_and_404(served):
    root, httpd, _ = served
    rel = "trec/2019qrels-pass.txt"
    data = (root / rel).read_bytes()
    url = f"http://127.0.0.1:{httpd.port}/{rel}"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=100-"})) as r:
        assert r.status == 206 and r.read() == data[100:]
        assert r.headers["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"http://127.0.0.1:{httpd.port}/MANIFEST.json")


def test_upstream_identical_files_keep_their_real_md5(served):
    """Files served byte for byte as upstream have config.yaml's published md5."""
    _, _, manifest = served
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert manifest["files"]["trec/2019qrels-pass.txt"]["md5"] == config["downloads"]["msmarco"]["qrels_dl19"]["md5"]


def rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


@pytest.mark.timeout(900)  # downloads, BM25 (Lucene) and teacher stages: a few minutes on 2 CPU cores
def test_snakemake_stages_on_served_real_samples(served, workdir, shared_data):
    _, httpd, manifest = served
    counts = manifest["counts"]
    overlay = yaml.safe_load(PRESET.read_text())
    for group in overlay["downloads"].values():
        for spec in group.values():
            spec["url"] = spec["url"].replace(f":{sample_server.DEFAULT_PORT}/", f":{httpd.port}/")
    (workdir / "port.yaml").write_text(yaml.safe_dump(overlay))
    targets = ["data/msmarco/corpus.parquet", "data/msmarco/groups/teacher-k20.parquet",
               "data/msmarco/groups/labels-k20.parquet", "data/msmarco/groups/labels-triples.parquet",
               "data/nq/official-dev.parquet",
               "data/nq/groups/labels-k20.parquet", "results/runs/msmarco/bm25/metrics.json",
               "data/msmarco/qrels-train-eval.parquet", "data/nq/qrels-train-eval.parquet"]
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *targets,
           "--configfile", "workflow/presets/real-sample.yaml", "port.yaml"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    d = workdir / "data"

    # MS MARCO dev (pygaggle's subset): 105 queries, 114 qrels, BM25 top-1000 = 105,000 lines.
    prov = provenance(shared_data, "msmarco-dev-subset105-bm25")
    n_q, n_qrels = map(int, re.search(r"(\d+) dev-small queries .*?, (\d+) qrels", prov).groups())
    n_run = int(re.search(r"top-1000 run .*?\((\d[\d,]*) lines", prov).group(1).replace(",", ""))
    assert rows(d / "msmarco/queries-dev.parquet") == n_q == counts["msmarco_dev_queries"] == 105
    assert rows(d / "msmarco/qrels-dev.parquet") == n_qrels == 114
    assert rows(d / "msmarco/official-dev.parquet") == n_run == 105_000
    # The valid split: the 40 served dev queries outside dev-small, none of them reported.
    valid = set(pq.read_table(d / "msmarco/queries-valid.parquet").to_pandas()["query_id"])
    assert len(valid) == counts["msmarco_valid_queries"] == 40
    assert rows(d / "msmarco/qrels-valid.parquet") == counts["msmarco_valid_qrels"]
    assert not valid & set(pq.read_table(d / "msmarco/queries-dev.parquet").to_pandas()["query_id"])
    # The train-eval split: the 100 training queries (fewer than train_eval.queries), judged.
    assert rows(d / "msmarco/queries-train-eval.parquet") == 100
    # DL19: 43 judged queries, 9260 graded qrels, the BM25 top-100 (4300 lines) as candidates.
    prov = provenance(shared_data, "dl19-passage-topics-qrels")
    n_topics, n_judgements = map(int, re.search(r"(\d+) judged topics.*?(\d+) graded qrels",
                                                (shared_data / "README.md").read_text()).groups())
    assert rows(d / "msmarco/queries-dl19.parquet") == n_topics == 43
    assert rows(d / "msmarco/qrels-dl19.parquet") == n_judgements == 9260
    assert f"{n_judgements} judgments" in prov
    prov = provenance(shared_data, "dl19-passage-bm25-top100-run")
    assert rows(d / "msmarco/official-dl19.parquet") == int(re.search(r"(\d+) lines", prov).group(1)) == 4300
    # Collection: every pid named anywhere; text for the 4103 DL19 passages and the triples'.
    corpus = pq.read_table(d / "msmarco/corpus.parquet").to_pandas()
    assert len(corpus) == counts["msmarco_corpus"]
    n_rel = int(re.search(r"Contents: (\d+) passages", provenance(shared_data, "dl19-passage-relevant-text")).group(1))
    assert (corpus["text"] != "").sum() == counts["msmarco_corpus_with_text"] >= n_rel
    # Training: the first 100 triples -> 100 queries, 100 positive + 100 negative teacher pairs,
    # and one group (positive, negative) per query at K = 20.
    assert "first 100 lines" in provenance(shared_data, "msmarco-train-triples-sample100")
    assert rows(d / "msmarco/queries-train.parquet") == counts["msmarco_train_queries"] == 100
    pairs = pq.read_table(d / "msmarco/teacher-pairs.parquet").to_pandas()
    assert len(pairs) == 200 and pairs["label"].sum() == 100
    assert set(pairs["doc_id"]) <= set(corpus["doc_id"])
    for kind in ("teacher", "labels"):
        groups = pq.read_table(d / f"msmarco/groups/{kind}-k20.parquet").to_pandas()
        assert len(groups) == 100 and groups["doc_ids"].map(len).eq(2).all()
    # The triplet losses' data: every line of the teacher file is a triple and a group.
    assert rows(d / "msmarco/teacher-triples.parquet") == 100
    triples = pq.read_table(d / "msmarco/groups/labels-triples.parquet").to_pandas()
    assert len(triples) == 100 and triples["labels"].map(lambda y: list(y) == [1, 0]).all()
    # NQ: 5 questions; dev candidates = positives + 50 random + BM25 hard negatives, deduplicated.
    prov = provenance(shared_data, "nq-dpr")
    pos = [int(x) for x in re.search(r"positives per question: ([\d,]+)", prov).group(1).split(",")]
    hard = [int(x) for x in re.search(r"hard negatives: ([\d,]+)", prov).group(1).split(",")]
    assert len(pos) == len(hard) == counts["nq_questions"] == 5
    n_dev = rows(d / "nq/official-dev.parquet")
    assert n_dev == counts["nq_dev_candidates"] and n_dev <= sum(pos) + sum(hard) + 50 * len(pos)
    assert rows(d / "nq/corpus.parquet") == counts["nq_passages"]
    # The preset holds NQ_VALID of the 5 training questions out as the valid split.
    n_train = 5 - sample_server.NQ_VALID
    assert rows(d / "nq/queries-dev.parquet") == 5 and rows(d / "nq/queries-train.parquet") == n_train
    nq_valid = set(pq.read_table(d / "nq/queries-valid.parquet").to_pandas()["query_id"])
    assert len(nq_valid) == sample_server.NQ_VALID
    for name in ("queries-train", "train-pairs", "qrels-train", "queries-train-eval"):
        assert not nq_valid & set(pq.read_table(d / f"nq/{name}.parquet").to_pandas()["query_id"]), name
    assert rows(d / "nq/qrels-dev.parquet") <= sum(pos)
    nq_groups = pq.read_table(d / "nq/groups/labels-k20.parquet").to_pandas()
    assert len(nq_groups) == n_train and nq_groups["doc_ids"].map(len).le(20).all()
    # Evaluation: the BM25 row over the sample corpus scores every judged query.
    metrics = json.loads((workdir / "results/runs/msmarco/bm25/metrics.json").read_text())
    assert metrics["dev"]["queries"] == 105 and metrics["dl19"]["queries"] == 43
    assert all(0 <= metrics[e][m] <= 1 for e in metrics for m in ("mrr@10", "ndcg@10"))
    # The official candidates kept the upstream ranking: their MRR@10 / nDCG@10 are the published.
    from dualrank.data import contracts
    from dualrank.retrieval.metrics import evaluate

    dev, _ = evaluate(contracts.read(d / "msmarco/official-dev.parquet", "run"),
                      contracts.read(d / "msmarco/qrels-dev.parquet", "qrels"))
    expected = float(re.search(r"MRR@10 = ([\d.]+)", provenance(shared_data, "msmarco-dev-subset105-bm25")).group(1))
    assert dev["mrr@10"] == pytest.approx(expected, abs=1e-9)
    dl19, _ = evaluate(contracts.read(d / "msmarco/official-dl19.parquet", "run"),
                       contracts.read(d / "msmarco/qrels-dl19.parquet", "qrels"), rel_level=2)
    assert dl19["ndcg@10"] == pytest.approx(0.5058, abs=1e-4)
    # Every download went through the server (no file://, no internet) and was md5-checked.
    logs = list((workdir / "logs/download").rglob("*.log"))
    assert len(logs) == len({spec["url"] for g in overlay["downloads"].values() for spec in g.values()
                             if "ensemble" not in spec["url"]}) - 1  # the triples: not needed
    for log in logs:
        assert "(verified)" in log.read_text(), log
