import numpy as np
import pandas as pd
import pytest

from dualrank.aggregate import aggregate
from dualrank.candidates import mix, train_pairs
from dualrank.errors import InputError


def pairs(rows):
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "label", "teacher_score"])


def test_top_k_by_teacher_keeps_positive_and_sorts():
    df = pairs([
        ("q1", "a", 0, 5.0), ("q1", "b", 1, 1.0), ("q1", "c", 0, 3.0), ("q1", "d", 0, 4.0),
        ("q2", "e", 1, 9.0), ("q2", "f", 0, 2.0),
    ])
    g = aggregate(df, k=3).set_index("query_id")
    # q1: the positive b (lowest teacher score) is kept, plus the two best negatives a, d.
    assert g.loc["q1", "doc_ids"] == ["a", "d", "b"]
    assert g.loc["q1", "labels"] == [0, 0, 1]
    assert g.loc["q1", "teacher_scores"] == [5.0, 4.0, 1.0]
    assert g.loc["q2", "doc_ids"] == ["e", "f"]


def test_labels_only_keeps_file_order_and_drops_queries_without_negatives():
    df = pairs([
        ("q1", "p", 1, np.nan), ("q1", "n3", 0, np.nan), ("q1", "n1", 0, np.nan), ("q1", "n2", 0, np.nan),
        ("q2", "p2", 1, np.nan),
    ])
    g = aggregate(df, k=3, labels_only=True)
    assert g["query_id"].tolist() == ["q1"]
    assert g.loc[0, "doc_ids"] == ["p", "n3", "n1"]
    assert g.loc[0, "teacher_scores"] is None


def test_missing_teacher_score_is_named():
    df = pairs([("q1", "a", 1, 1.0), ("q1", "b", 0, np.nan)])
    with pytest.raises(InputError, match=r"teacher.pairs.*\(q1, b\)"):
        aggregate(df, k=2, where="teacher-pairs.parquet")


def run(rows):
    df = pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
    df["rank"] = df.groupby("query_id")["score"].rank(ascending=False, method="first").astype("int32")
    return df


def test_train_pairs_are_positives_then_bm25_negatives():
    r = run([("q", "d1", 9.0), ("q", "d2", 8.0), ("q", "d3", 7.0), ("q", "d4", 6.0)])
    qrels = pd.DataFrame({"query_id": ["q"], "doc_id": ["d2"], "relevance": [1]})
    p = train_pairs(r, qrels, n_negatives=2)
    assert p["doc_id"].tolist() == ["d2", "d1", "d3"]
    assert p["label"].tolist() == [1, 0, 0]


def test_mix_has_positives_bm25_and_random_negatives():
    r = run([("q", f"d{i}", 100.0 - i) for i in range(10)])
    qrels = pd.DataFrame({"query_id": ["q"], "doc_id": ["z"], "relevance": [1]})  # not retrieved
    corpus = np.array([f"d{i}" for i in range(10)] + [f"r{i}" for i in range(50)] + ["z"])
    m = mix(r, qrels, corpus, n_bm25=5, n_random=7, seed=0)
    docs = m["doc_id"].tolist()
    assert "z" in docs and len(docs) == 1 + 5 + 7 and len(set(docs)) == len(docs)
    assert docs[:5] == ["d0", "d1", "d2", "d3", "d4"]  # BM25 order on top
    assert m["rank"].tolist() == list(range(1, 14))
