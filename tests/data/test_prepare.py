"""`dualrank prepare` on hand-made files in the upstream formats: the held-out valid split
never holds a reported query (issue 12, item 5), and qrels-train feeds the train-eval split."""

import json

import pandas as pd
import pytest

from dualrank.cli import prepare as cli_prepare
from dualrank.cli import sample_queries
from dualrank.data import contracts
from dualrank.data.splits import Sample, judged_sample


def write(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


@pytest.fixture
def msmarco(tmp_path):
    d = tmp_path / "up"
    d.mkdir()
    pids = range(100, 140)
    dev_small = [1, 2, 3]  # judged dev-small queries
    dev_all = list(range(1, 31))  # queries.dev.tsv: dev-small and 27 more
    judged = [q for q in dev_all if q % 4 != 0]  # queries 4, 8, ... have no judgement
    f = {
        "collection": write(d / "collection.tsv", [f"{p}\tpassage {p}" for p in pids]),
        "queries_train": write(d / "queries.train.tsv", [f"{q}\ttrain query {q}" for q in range(500, 520)]),
        "queries_dev": write(d / "queries.dev.small.tsv", [f"{q}\tdev query {q}" for q in dev_small]),
        "qrels_dev": write(d / "qrels.dev.small.tsv", [f"{q}\t0\t{100 + q}\t1" for q in dev_small]),
        "top1000_dev": write(d / "top1000.dev", [f"{q}\t{p}\tdev query {q}\tpassage {p}"
                                                 for q in dev_small for p in (100 + q, 120)]),
        "queries_dl19": write(d / "msmarco-test2019-queries.tsv", ["900\tdl query"]),
        "qrels_dl19": write(d / "2019qrels-pass.txt", ["900 0 130 2"]),
        "top1000_dl19": write(d / "top1000.dl19.tsv", ["900\t130\tdl query\tpassage 130"]),
        "queries_dev_all": write(d / "queries.dev.tsv", [f"{q}\tdev query {q}" for q in dev_all]),
        "qrels_dev_all": write(d / "qrels.dev.tsv", [f"{q}\t0\t{100 + q}\t1" for q in judged]),
        "qrels_train": write(d / "qrels.train.tsv", [f"{q}\t0\t{q - 400}\t1" for q in range(500, 520)]),
    }
    return f, dev_small, judged


def flags(files: dict) -> list[str]:
    return [x for k, v in files.items() for x in (f"--{k.replace('_', '-')}", v)]


def test_msmarco_valid_is_judged_dev_outside_dev_small(msmarco, tmp_path):
    files, dev_small, judged = msmarco
    out = tmp_path / "data"
    cli_prepare.main(["msmarco", *flags(files), "--valid-queries", "10", "--valid-seed", "0", "--out-dir", str(out)])
    valid = contracts.read(out / "queries-valid.parquet", "queries")
    qrels = contracts.read(out / "qrels-valid.parquet", "qrels")
    reported = set(contracts.read(out / "queries-dev.parquet", "queries")["query_id"]) \
        | set(contracts.read(out / "queries-dl19.parquet", "queries")["query_id"])
    assert reported == {"1", "2", "3", "900"}
    ids = set(valid["query_id"])
    assert len(ids) == 10 and not ids & reported
    assert ids <= {str(q) for q in judged} and set(qrels["query_id"]) == ids
    # Seeded: the same draw again, another with another seed.
    again = tmp_path / "again"
    cli_prepare.main(["msmarco", *flags(files), "--valid-queries", "10", "--valid-seed", "0", "--out-dir", str(again)])
    assert set(contracts.read(again / "queries-valid.parquet", "queries")["query_id"]) == ids
    # qrels-train is qrels.train.tsv, the train-eval split's source.
    assert len(contracts.read(out / "qrels-train.parquet", "qrels")) == 20


def dpr_record(i: int, n_pos: int) -> dict:
    ctx = lambda p: {"passage_id": str(p), "title": f"t{p}", "text": f"passage {p}"}  # noqa: E731
    return {"question": f"question {i}", "answers": ["a"],
            "positive_ctxs": [ctx(1000 + 10 * i + j) for j in range(n_pos)],
            "negative_ctxs": [ctx(5000 + i)],
            "hard_negative_ctxs": [ctx(1000 + 10 * i + 5 + j) for j in range(3)]}


def test_nq_valid_questions_leave_the_training_data(tmp_path):
    d = tmp_path / "up"
    d.mkdir()
    train = [dpr_record(i, 1 + i % 2) for i in range(12)]
    dev = [dpr_record(100 + i, 1) for i in range(3)]
    pids = sorted({c["passage_id"] for r in train + dev for k in ("positive_ctxs", "negative_ctxs",
                                                                  "hard_negative_ctxs") for c in r[k]}, key=int)
    files = {"passages": write(d / "psgs_w100.tsv", ["id\ttext\ttitle", *[f"{p}\tpassage {p}\tt{p}" for p in pids]]),
             "train": str(d / "train.json"), "dev": str(d / "dev.json")}
    (d / "train.json").write_text(json.dumps(train))
    (d / "dev.json").write_text(json.dumps(dev))
    out = tmp_path / "data"
    cli_prepare.main(["nq", *flags(files), "--hard-negatives", "2", "--valid-queries", "4", "--valid-seed", "1",
                      "--out-dir", str(out)])
    valid = set(contracts.read(out / "queries-valid.parquet", "queries")["query_id"])
    assert len(valid) == 4 and valid <= {f"train{i}" for i in range(12)}
    assert set(contracts.read(out / "qrels-valid.parquet", "qrels")["query_id"]) == valid
    for name, kind in (("queries-train", "queries"), ("qrels-train", "qrels"), ("train-pairs", "pairs")):
        ids = set(contracts.read(out / f"{name}.parquet", kind)["query_id"])
        assert len(ids) == 8 and not ids & valid, name
    # The valid qrels are the held-out questions' DPR positives.
    qrels = contracts.read(out / "qrels-valid.parquet", "qrels")
    assert len(qrels) == sum(1 + int(q[5:]) % 2 for q in valid)


def test_train_eval_is_a_seeded_sample_of_judged_training_queries(tmp_path):
    queries = pd.DataFrame({"query_id": [str(i) for i in range(50)], "text": ["q"] * 50})
    qrels = pd.DataFrame({"query_id": [str(i) for i in range(0, 50, 2)], "doc_id": "d", "relevance": 1})
    contracts.write(queries, tmp_path / "queries-train.parquet", "queries")
    contracts.write(qrels, tmp_path / "qrels-train.parquet", "qrels")
    args = ["--queries", str(tmp_path / "queries-train.parquet"), "--qrels", str(tmp_path / "qrels-train.parquet"),
            "--n", "10", "--seed", "3", "--queries-out", str(tmp_path / "q.parquet"),
            "--qrels-out", str(tmp_path / "r.parquet")]
    sample_queries.main(args)
    ids = set(contracts.read(tmp_path / "q.parquet", "queries")["query_id"])
    assert len(ids) == 10 and all(int(q) % 2 == 0 for q in ids)
    assert set(contracts.read(tmp_path / "r.parquet", "qrels")["query_id"]) == ids
    assert set(judged_sample(queries, qrels, Sample(10, 3))[0]["query_id"]) == ids
    assert set(judged_sample(queries, qrels, Sample(100, 3))[0]["query_id"]) == set(qrels["query_id"])
