"""Triplet training data (issue 12, items 1, 2 and 4) on hand-made upstream-format files: every
line of a published teacher file is a training example, a query with several positives keeps
all of its triples, NQ's groups are 1 + 19 and its single-negative triples take the first hard
negative, NQ's dev candidates are positives + 100 BM25 + up to 100 random negatives."""

import gzip
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dualrank import cli
from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.data.prepare import _read_dpr
from dualrank.pairs.aggregate import aggregate
from dualrank.pairs.candidates import mix
from dualrank.pairs.teacher import import_published
from dualrank.pairs.triples import triples_file, triples_of_pairs
from dualrank.training.groups import Sampler, load_groups

# pos_score neg_score query_id pos_pid neg_pid: query 7 has two positives (100 and 101).
T1 = ["9.5\t-1.25\t7\t100\t200", "9.5\t2.5\t7\t100\t201", "3.0\t1.0\t8\t300\t200",
      "8.0\t0.5\t7\t101\t202", "9.5\t-3.0\t7\t100\t203"]


def lists(path) -> pd.DataFrame:
    t = pq.read_table(path)
    return pd.DataFrame({c: t[c].to_pylist() for c in t.column_names})


def test_teacher_import_keeps_every_line_as_a_triple_and_aggregate_makes_a_group_of_each(tmp_path):
    src = tmp_path / "t1.tsv"
    src.write_text("\n".join(T1) + "\n")
    pairs, triples = tmp_path / "pairs.parquet", tmp_path / "triples.parquet"
    import_published(str(src), str(pairs), block_size=40, triples_out=str(triples))  # several blocks
    t = contracts.read(triples, "triples")
    assert t.values.tolist() == [[q, p, n, float(ps), float(ns)] for ps, ns, q, p, n in
                                 (line.split("\t") for line in T1)]
    for labels_only in (False, True):
        out = tmp_path / f"g{labels_only}.parquet"
        args = ["aggregate", "--pairs", str(triples), "--triples", "--out", str(out)]
        assert cli.main(args + (["--labels-only"] if labels_only else [])) == 0
        g = lists(out)
        assert g["query_id"].tolist() == ["7", "7", "8", "7", "7"]  # file order
        assert g["doc_ids"].tolist() == [["100", "200"], ["100", "201"], ["300", "200"], ["101", "202"],
                                         ["100", "203"]]
        assert g["labels"].tolist() == [[1, 0]] * 5
        if labels_only:
            assert g["teacher_scores"].isna().all()
        else:
            assert g["teacher_scores"].tolist() == [[9.5, -1.25], [9.5, 2.5], [3.0, 1.0], [8.0, 0.5], [9.5, -3.0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gFalse.parquet", "gTrue.parquet", "pairs.parquet",
                                                          "t1.tsv", "triples.parquet"]


def test_a_k2_run_sees_every_triple_of_a_query_with_two_positives_and_resumes_the_same(tmp_path):
    src, triples, groups = tmp_path / "t1.tsv", tmp_path / "triples.parquet", tmp_path / "g.parquet"
    src.write_text("\n".join(T1) + "\n")
    import_published(str(src), str(tmp_path / "pairs.parquet"), triples_out=str(triples))
    triples_file(triples, groups)
    g = load_groups(groups, needs_teacher=True)
    assert g.k == 2 and len(g) == 5
    sampler = Sampler(len(g), batch_size=2, seed=3)
    seen = [tuple(g.doc_ids[i]) for _ in range(6) for i in sampler.next()]
    of_7 = {d for d, q in zip(map(tuple, g.doc_ids), g.query_ids) if q == "7"}
    assert of_7 <= set(seen) and {d[0] for d in of_7} == {"100", "101"}  # both positives
    # Resumed from its state mid-epoch, a sampler draws what the uninterrupted one does.
    a = Sampler(len(g), 2, seed=3)
    for _ in range(4):
        a.next()
    b = Sampler(len(g), 2, seed=3)
    b.restore(a.state())
    assert [a.next().tolist() for _ in range(5)] == [b.next().tolist() for _ in range(5)]


def pairs(rows):
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "label", "teacher_score"])


def test_triples_of_pairs_pair_each_negative_with_a_positive_in_turn():
    p = pairs([("a", "p1", 1, 5.0), ("a", "n1", 0, 1.0), ("b", "p", 1, 4.0), ("a", "p2", 1, 6.0),
               ("a", "n2", 0, 2.0), ("c", "n", 0, 0.0), ("a", "n3", 0, 3.0), ("a", "n1", 0, 9.0),
               ("d", "p", 1, 1.0)])
    t = triples_of_pairs(p)
    # b and d have no negative, c no positive; a's repeated n1 keeps its first score.
    assert t.values.tolist() == [["a", "p1", "n1", 5.0, 1.0], ["a", "p2", "n2", 6.0, 2.0],
                                 ["a", "p1", "n3", 5.0, 3.0]]
    assert triples_of_pairs(p, negatives_per_query=1).values.tolist() == [["a", "p1", "n1", 5.0, 1.0]]


def test_triples_from_a_pairs_file_and_their_errors(tmp_path):
    p = pairs([("a", "p1", 1, 5.0), ("a", "n1", 0, np.nan)])
    path = tmp_path / "pairs.parquet"
    contracts.write(p, path, "pairs")
    st = triples_file(path, tmp_path / "labels.parquet", labels_only=True)
    assert st.groups == 1 and lists(tmp_path / "labels.parquet")["doc_ids"].tolist() == [["p1", "n1"]]
    with pytest.raises(InputError, match=r"\(a, p1, n1\) has no teacher score"):
        triples_file(path, tmp_path / "teacher.parquet")
    assert not (tmp_path / "teacher.parquet").exists()
    with pytest.raises(SystemExit) as e:
        cli.main(["aggregate", "--pairs", str(path), "--triples", "--k", "20", "--out", str(tmp_path / "x.parquet")])
    assert e.value.code == 2


def dpr_record(i: int, n_pos: int, n_hard: int, n_random: int) -> dict:
    ctx = [{"passage_id": f"{i}-{kind}{j}", "title": "t", "text": f"{kind} {j}"}
           for kind, n in (("pos", n_pos), ("hard", n_hard), ("rand", n_random)) for j in range(n)]
    return {"question": f"question {i}", "answers": ["x"], "positive_ctxs": ctx[:n_pos],
            "hard_negative_ctxs": ctx[n_pos:n_pos + n_hard], "negative_ctxs": ctx[n_pos + n_hard:]}


def test_nq_training_pairs_are_one_positive_and_19_hard_negatives(tmp_path):
    path = tmp_path / "biencoder-nq-train.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump([dpr_record(0, 6, 30, 50), dpr_record(1, 1, 19, 50), dpr_record(2, 2, 5, 50)], f)
    p = _read_dpr(path, 19, query_prefix="train").pairs
    g = aggregate(p, k=20, labels_only=True).set_index("query_id")
    assert g["doc_ids"].map(len).to_dict() == {"train0": 20, "train1": 20, "train2": 6}
    assert g.loc["train0", "doc_ids"] == ["0-pos0"] + [f"0-hard{j}" for j in range(19)]
    assert g["labels"].map(sum).eq(1).all()  # one positive each
    # Single-negative models: the first hard negative, one triple per question.
    t = triples_of_pairs(p, negatives_per_query=1)
    assert t[["query_id", "pos_id", "neg_id"]].values.tolist() == [
        ["train0", "0-pos0", "0-hard0"], ["train1", "1-pos0", "1-hard0"], ["train2", "2-pos0", "2-hard0"]]


def test_nq_dev_candidates_are_positives_100_bm25_and_up_to_100_random_negatives():
    qrels = pd.DataFrame({"query_id": ["q", "q", "r"], "doc_id": ["d3", "z", "e0"], "relevance": [1, 1, 1]})
    run = pd.DataFrame({"query_id": ["q"] * 150 + ["r"] * 150,
                        "doc_id": [f"d{i}" for i in range(150)] + [f"e{i}" for i in range(150)],
                        "score": np.r_[np.arange(150, 0, -1), np.arange(150, 0, -1)].astype("float32")})
    run["rank"] = run.groupby("query_id").cumcount() + 1
    corpus = np.array([f"d{i}" for i in range(150)] + [f"e{i}" for i in range(150)]
                      + [f"x{i}" for i in range(300)] + ["z"])
    m = mix(run, qrels, corpus, n_bm25=100, n_random=100, seed=0)
    for q, positives in (("q", {"d3", "z"}), ("r", {"e0"})):
        docs = m[m["query_id"] == q]["doc_id"].tolist()
        assert len(docs) == len(set(docs)) == len(positives) + 100 + 100 and positives <= set(docs)
        bm25 = [d for d in run[run["query_id"] == q]["doc_id"] if d not in positives][:100]
        assert set(bm25) <= set(docs)
    # "up to": a corpus too small for 100 random negatives gives what it has.
    small = mix(run[run["query_id"] == "r"], qrels[qrels["query_id"] == "r"], corpus[150:300], 100, 100, 0)
    assert len(small) == 1 + 100 + 49
