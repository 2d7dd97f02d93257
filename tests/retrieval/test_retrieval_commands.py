"""The index and evaluate commands on a tiny random dual-encoder: `dualrank index` writes the
FAISS directory atomically, `dualrank evaluate` retrieves and re-ranks with the model (or scores
the candidates' own order without one) and writes each run and the metrics file."""

import json

import pandas as pd
import pytest

from dualrank import cli
from dualrank.data import contracts
from dualrank.retrieval.metrics import evaluate
import retrieval_data

data = retrieval_data.data  # the fixture (module-scoped there)


def evals(d, out, modes):
    return [{"name": m, "mode": m, "queries": str(d / "queries-dev.parquet"), "qrels": str(d / "qrels-dev.parquet"),
             "candidates": str(d / "cands.parquet"), "rel_level": 1, "depth": 5, "run_out": str(out / f"{m}.parquet")}
            for m in modes]


def test_index_then_evaluate(data, tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / "stale").write_text("an older build")
    assert cli.main(["index", "--model", str(data / "model"), "--corpus", str(data / "corpus.parquet"),
                     "--out", str(index), "--batch-size", "4", "--threads", "1"]) == 0
    assert sorted(p.name for p in index.iterdir()) == ["doc_ids.txt", "index.faiss", "index.json"]
    assert json.loads((index / "index.json").read_text())["factory"] == "Flat"
    assert [p.name for p in tmp_path.iterdir()] == ["index"]  # nothing left beside it
    metrics = tmp_path / "metrics.json"
    assert cli.main(["evaluate", "--evals", json.dumps(evals(data, tmp_path, ["retrieval", "rerank"])),
                     "--model", str(data / "model"), "--corpus", str(data / "corpus.parquet"), "--index", str(index),
                     "--batch-size", "4", "--threads", "1", "--metrics-out", str(metrics)]) == 0
    got = json.loads(metrics.read_text())
    qrels = contracts.read(data / "qrels-dev.parquet", "qrels")
    for mode, depth in (("retrieval", 5), ("rerank", 5)):
        run = contracts.read(tmp_path / f"{mode}.parquet", "run")
        assert run.groupby("query_id").size().max() == depth
        assert got[mode] == {"mode": mode, **evaluate(run, qrels, rel_level=1)[0]}
    rerank = contracts.read(tmp_path / "rerank.parquet", "run")
    cands = contracts.read(data / "cands.parquet", "run")
    top = cands[cands["rank"] <= 5]
    assert set(zip(rerank.query_id, rerank.doc_id)) == set(zip(top.query_id, top.doc_id))

    # Without --index the same retrieval streams the corpus (chunks of 8): the same run, scores
    # bit for bit (with the same batches: padding changes a sequence's embedding in its last bits).
    streamed = tmp_path / "streamed"
    streamed.mkdir()
    assert cli.main(["evaluate", "--evals", json.dumps(evals(data, streamed, ["retrieval"])),
                     "--model", str(data / "model"), "--corpus", str(data / "corpus.parquet"), "--chunk-size", "8",
                     "--batch-size", "4", "--threads", "1", "--metrics-out", str(streamed / "metrics.json")]) == 0
    a = contracts.read(tmp_path / "retrieval.parquet", "run")
    b = contracts.read(streamed / "retrieval.parquet", "run")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_evaluate_without_a_model_scores_the_candidates(data, tmp_path):
    metrics = tmp_path / "metrics.json"
    assert cli.main(["evaluate", "--evals", json.dumps(evals(data, tmp_path, ["rerank"])),
                     "--metrics-out", str(metrics)]) == 0
    cands = contracts.read(data / "cands.parquet", "run")
    run = contracts.read(tmp_path / "rerank.parquet", "run")
    pd.testing.assert_frame_equal(run.reset_index(drop=True), cands[cands["rank"] <= 5].reset_index(drop=True))
    qrels = contracts.read(data / "qrels-dev.parquet", "qrels")
    assert json.loads(metrics.read_text()) == {"rerank": {"mode": "rerank", **evaluate(run, qrels, rel_level=1)[0]}}


def test_a_bad_index_spec_exits_2(data, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli.main(["index", "--model", str(data / "model"), "--corpus", str(data / "corpus.parquet"),
                  "--out", str(tmp_path / "index"), "--index-spec", "{not json"])
    assert e.value.code == 2 and not (tmp_path / "index").exists()
