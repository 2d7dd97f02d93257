"""Metrics: a hand-computed example, the official reference numbers, and `dualrank evaluate`."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import ir_measures
import pandas as pd
import pytest

from dualrank import cli
from dualrank.data import contracts
from dualrank.data import readers
from dualrank.data.io import InputError
from dualrank.retrieval.metrics import evaluate

from conftest import SHARED_DATA as DATA
from conftest import needs_data

SUB105 = DATA / "msmarco-dev-subset105-bm25"
DL19_QRELS = DATA / "dl19-passage-topics-qrels/qrels.dl19-passage.txt"
DL19_BM25 = DATA / "dl19-passage-bm25-top100-run/run.dl19-passage.bm25.top100.trec"
OFFICIAL = DATA / "dl19-official-runs-eval"


def _run(rows):
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"]).assign(rank=0)


def _qrels(rows):
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"])


def _cli(capsys, *argv) -> dict:
    assert cli.main(["metrics", *map(str, argv)]) == 0
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------------------ hand computation

QRELS = _qrels(
    [
        ("q1", "d1", 0), ("q1", "d2", 2), ("q1", "d3", 1),
        ("q2", "d5", 1),
        ("q3", "d9", 1),  # judged, but absent from the run: scores 0
    ]
)
RUN = _run(
    [
        ("q1", "d0", 3.0), ("q1", "d3", 2.0), ("q1", "d1", 1.5), ("q1", "d2", 1.0),
        # a tie: trec_eval puts the larger doc id first, so d6 is rank 1 and d5 rank 2
        ("q2", "d5", 1.0), ("q2", "d6", 1.0), ("q2", "d7", 0.5),
        ("q4", "d1", 9.0),  # not judged: ignored
    ]
)


def test_hand_computed_example():
    agg, per_query = evaluate(RUN, QRELS)
    # q1 ranking: d0 (unjudged), d3 (grade 1), d1 (grade 0), d2 (grade 2)
    rr_q1 = 1 / 2
    ndcg_q1 = (1 / math.log2(3) + 2 / math.log2(5)) / (2 / math.log2(2) + 1 / math.log2(3))
    # q2 ranking: d6, d5 (grade 1), d7
    rr_q2 = 1 / 2
    ndcg_q2 = (1 / math.log2(3)) / (1 / math.log2(2))
    assert agg["queries"] == 3
    assert agg["mrr@10"] == pytest.approx((rr_q1 + rr_q2 + 0) / 3, abs=1e-12)
    assert agg["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3, abs=1e-12)
    assert per_query["query_id"].tolist() == ["q1", "q2", "q3"]
    assert per_query["mrr@10"].tolist() == pytest.approx([rr_q1, rr_q2, 0.0], abs=1e-12)
    assert per_query["ndcg@10"].tolist() == pytest.approx([ndcg_q1, ndcg_q2, 0.0], abs=1e-12)

    # rel_level=2: only d2 (grade 2, rank 4) is relevant for MRR; nDCG keeps the grades
    agg2, _ = evaluate(RUN, QRELS, rel_level=2)
    assert agg2["mrr@10"] == pytest.approx((1 / 4 + 0 + 0) / 3, abs=1e-12)
    assert agg2["ndcg@10"] == pytest.approx(agg["ndcg@10"], abs=1e-12)


def test_cutoff_at_10_and_rank_column_ignored():
    run = _run([("q", f"n{i:02d}", 20.0 - i) for i in range(10)] + [("q", "rel", 1.0)])
    run["rank"] = list(range(11, 0, -1))  # ranks contradict the scores: trec_eval ignores them
    agg, _ = evaluate(run, _qrels([("q", "rel", 1)]))
    assert agg == {"mrr@10": 0.0, "ndcg@10": 0.0, "queries": 1}
    agg, _ = evaluate(run.iloc[1:], _qrels([("q", "rel", 1)]))  # now at rank 10
    assert agg["mrr@10"] == pytest.approx(1 / 10)
    assert agg["ndcg@10"] == pytest.approx(1 / math.log2(11))


def test_bad_inputs():
    with pytest.raises(InputError, match="duplicate"):
        evaluate(pd.concat([RUN, RUN.iloc[:1]]), QRELS)
    with pytest.raises(InputError, match=r"needs columns \['score'\]"):
        evaluate(RUN.drop(columns="score"), QRELS)
    with pytest.raises(InputError, match="no judgments"):
        evaluate(RUN, QRELS.iloc[:0])
    with pytest.raises(InputError, match="null"):
        evaluate(RUN.assign(score=float("nan")), QRELS)


# --------------------------------------------------------------------------- reference numbers


@needs_data
def test_msmarco_dev_subset_official_mrr(capsys):
    out = _cli(capsys, "--run", SUB105 / "run.dev.small.tsv", "--qrels", SUB105 / "qrels.dev.small.tsv")
    # official msmarco_passage_eval.py (expected_msmarco_eval_output.txt): 0.15906651549508694
    assert out["mrr@10"] == pytest.approx(0.15906651549508694, abs=1e-9)
    assert out["queries"] == 105
    assert set(out) == {"mrr@10", "ndcg@10", "queries"}
    # no tied scores in this run, so ir_measures' own RR@10 (msmarco provider) agrees
    run = readers.read_run(SUB105 / "run.dev.small.tsv")
    qrels = readers.read_qrels(SUB105 / "qrels.dev.small.tsv")
    ref = ir_measures.calc_aggregate([ir_measures.RR @ 10], qrels, run)
    assert out["mrr@10"] == pytest.approx(ref[ir_measures.RR @ 10], abs=1e-12)


@needs_data
def test_dl19_bm25_ndcg(capsys, tmp_path):
    # PROVENANCE: nDCG@10 = 0.5058 (0.505831...), i.e. rounded to 4 decimals
    out = _cli(capsys, "--run", DL19_BM25, "--qrels", DL19_QRELS, "--rel-level", "2")
    assert out["queries"] == 43
    assert round(out["ndcg@10"], 4) == 0.5058
    assert out["ndcg@10"] == pytest.approx(0.505831, abs=1e-6)
    # the same from the Parquet contracts (scores cast to float32), with per-query output
    run_pq, qrels_pq = tmp_path / "run.parquet", tmp_path / "qrels.parquet"
    contracts.write(readers.read_run(DL19_BM25), run_pq, "run")
    contracts.write(readers.read_qrels(DL19_QRELS), qrels_pq, "qrels")
    per_query = tmp_path / "per_query.tsv"
    out_pq = _cli(
        capsys, "--run", run_pq, "--qrels", qrels_pq, "--rel-level", "2", "--per-query", per_query
    )
    assert out_pq == pytest.approx(out, abs=1e-12)
    table = pd.read_csv(per_query, sep="\t", dtype={"query_id": str})
    assert len(table) == 43 and table["ndcg@10"].mean() == pytest.approx(out["ndcg@10"])
    # PROVENANCE: trec_eval recip_rank (level 1, no cutoff) = 0.8245
    run, qrels = readers.read_run(DL19_BM25), readers.read_qrels(DL19_QRELS)
    assert round(evaluate(run, qrels, cutoff=1000)[0]["mrr@1000"], 4) == 0.8245


def _trec_eval_file(path: Path, measure: str) -> dict[str, float]:
    values = {}
    for line in path.read_text().splitlines():
        name, qid, value = line.split()
        if name == measure:
            values[qid] = float(value)
    return values


@needs_data
@pytest.mark.parametrize("name", ["ICT-BERT2", "ICT-CKNRM_B", "ICT-CKNRM_B50"])
def test_official_dl19_runs_match_trec_eval(name):
    run = readers.read_run(OFFICIAL / "runs" / name)
    qrels = readers.read_qrels(DL19_QRELS)
    agg, per_query = evaluate(run, qrels)
    ndcg = _trec_eval_file(OFFICIAL / "eval" / f"{name}.ndcgeval", "ndcg_cut_10")
    assert agg["ndcg@10"] == pytest.approx(ndcg.pop("all"), abs=5e-5)
    assert len(ndcg) == 43
    ours = per_query.set_index("query_id")["ndcg@10"]
    for qid, value in ndcg.items():  # trec_eval prints 4 decimals
        assert ours[qid] == pytest.approx(value, abs=5e-5), qid
    # trec_eval's recip_rank (no cutoff; these runs hold <= 50 passages per query)
    rr = _trec_eval_file(OFFICIAL / "eval" / f"{name}.treceval", "recip_rank")
    agg_all, per_all = evaluate(run, qrels, cutoff=1000)
    assert agg_all["mrr@1000"] == pytest.approx(rr.pop("all"), abs=5e-5)
    ours = per_all.set_index("query_id")["mrr@1000"]
    assert all(ours[q] == pytest.approx(v, abs=5e-5) for q, v in rr.items())


# ------------------------------------------------------------------------------------- the CLI


def test_cli_hand_example_parquet(capsys, tmp_path):
    contracts.write(RUN, tmp_path / "run.parquet", "run")
    contracts.write(QRELS, tmp_path / "qrels.parquet", "qrels")
    out = _cli(capsys, "--run", tmp_path / "run.parquet", "--qrels", tmp_path / "qrels.parquet")
    assert out == pytest.approx(evaluate(RUN, QRELS)[0])


def test_cli_input_error_exit_2(capsys, tmp_path):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 a 1\n1 0 b x\n")
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 a 1 1.0 t\n")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["metrics", "--run", str(run), "--qrels", str(qrels)])
    assert exit_.value.code == 2
    err = capsys.readouterr()
    assert err.out == ""
    assert f"{qrels}:2: relevance 'x' is not an integer" in err.err


def test_entry_point_no_traceback(tmp_path):
    exe = shutil.which("dualrank")
    cmd = [exe] if exe else [sys.executable, "-m", "dualrank.cli"]
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 a 1 1.0 t\n1 Q0 b\n")
    proc = subprocess.run(
        [*cmd, "metrics", "--run", str(run), "--qrels", str(run)], capture_output=True, text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{run}:2:" in proc.stderr and "Traceback" not in proc.stderr


def test_every_command_has_a_module_with_a_main(capsys):
    import importlib

    assert cli.main(["--help"]) == 0
    listing = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert f"  {name} " in listing
        assert callable(importlib.import_module(cli.module_of(name)).main), name
    assert cli.main(["no-such-command"]) == 2
