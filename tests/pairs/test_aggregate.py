import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dualrank.pairs.aggregate import aggregate, aggregate_file
from dualrank.pairs.candidates import mix, train_pairs
from dualrank.data.io import InputError
from dualrank.pairs.teacher import import_published


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


# --------------------------------------------------------------------------------------------
# Streaming aggregation (external partition into buckets) against the plain pandas definition


def reference(df: pd.DataFrame, k: int, labels_only: bool) -> pd.DataFrame:
    """The first, in-memory pandas implementation (the semantics the streaming one keeps)."""
    df = df.drop_duplicates(["query_id", "doc_id"]).copy()
    df["_order"] = np.arange(len(df))
    df["_pos"] = (df["label"] <= 0).astype(np.int8)
    df["_key"] = df["_order"].to_numpy() if labels_only else -df["teacher_score"].to_numpy()
    df = df.sort_values(["query_id", "_pos", "_key"], kind="stable")
    df = df[df.groupby("query_id").cumcount() < k]
    if not labels_only:
        df = df.sort_values(["query_id", "teacher_score"], ascending=[True, False], kind="stable")
    g = df.groupby("query_id", sort=True)
    out = pd.DataFrame({"query_id": list(g.groups.keys()), "doc_ids": g["doc_id"].agg(list).tolist(),
                        "labels": g["label"].agg(list).tolist(),
                        "teacher_scores": None if labels_only else g["teacher_score"].agg(list).tolist()})
    keep = out["labels"].map(lambda y: 0 < sum(v > 0 for v in y) < len(y))
    return out[keep].reset_index(drop=True)


def random_pairs(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 60, n)
    return pd.DataFrame({
        "query_id": [f"q{x}" for x in q],  # string order differs from numeric order
        "doc_id": [f"d{x}" for x in rng.integers(0, 40, n)],  # repeats within a query
        "label": (rng.random(n) < 0.15).astype(np.int8),
        "teacher_score": rng.integers(-3, 4, n).astype(np.float32),  # many ties
    })


def as_lists(path) -> pd.DataFrame:
    t = pq.read_table(path)
    return pd.DataFrame({c: t[c].to_pylist() for c in t.column_names})


@pytest.mark.parametrize("labels_only", [False, True])
@pytest.mark.parametrize("k", [2, 5, 20])
def test_streaming_buckets_match_pandas(tmp_path, labels_only, k):
    df = random_pairs(3000, seed=k)
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=250)
    out = tmp_path / "groups.parquet"
    st = aggregate_file(path, out, k, labels_only=labels_only, bucket_rows=300, batch_rows=170)
    assert st.buckets > 5  # really partitioned
    got = as_lists(out)
    want = reference(df, k, labels_only)
    assert got["query_id"].tolist() == want["query_id"].tolist()  # sorted as strings
    for col in ("doc_ids", "labels") + (() if labels_only else ("teacher_scores",)):
        assert got[col].tolist() == want[col].tolist(), col
    if labels_only:
        assert got["teacher_scores"].isna().all()
    assert st.groups == len(want) and st.groups + st.dropped == df["query_id"].nunique()
    # One bucket (in memory) gives the same file, and no temporary file is left behind.
    one = tmp_path / "one.parquet"
    aggregate_file(path, one, k, labels_only=labels_only)
    assert as_lists(one).to_dict("list") == got.to_dict("list")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups.parquet", "one.parquet", "pairs.parquet"]


def test_streaming_missing_teacher_score_fails_and_leaves_nothing(tmp_path):
    df = random_pairs(500, seed=1)
    df.loc[321, "teacher_score"] = np.nan
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    with pytest.raises(InputError, match=rf"pairs.parquet: pair \({df.query_id[321]}, {df.doc_id[321]}\)"):
        aggregate_file(path, tmp_path / "groups.parquet", 5, bucket_rows=50, batch_rows=100)
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.parquet"]


def test_teacher_import_streams_published_format(tmp_path):
    lines = ["9.5\t-1.25\t7\t100\t200", "9.5\t2.5\t7\t100\t201", "3.0\t1.0\t8\t300\t200",
             "8.0\t0.5\t7\t101\t202", "9.5\t-3.0\t7\t100\t203"]
    src = tmp_path / "t1.tsv"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "pairs.parquet"
    import_published(str(src), str(out), block_size=40)  # several CSV blocks
    pairs = pq.read_table(out).to_pandas()
    pos = pairs[pairs.label == 1]
    assert sorted(zip(pos.query_id, pos.doc_id)) == [("7", "100"), ("7", "101"), ("8", "300")]
    assert len(pairs) == 3 + 5
    g = aggregate_file(out, tmp_path / "g.parquet", 3)
    got = as_lists(tmp_path / "g.parquet").set_index("query_id")
    assert got.loc["7", "doc_ids"] == ["100", "101", "201"] and got.loc["8", "doc_ids"] == ["300", "200"]
    assert got.loc["7", "teacher_scores"] == [9.5, 8.0, 2.5] and g.groups == 2


@pytest.mark.parametrize("bad, where", [
    ("9.5\t1.0\t8\t300\t999", "lines.tsv:4: neg_pid '999' is not in"),    # a passage the corpus lacks
    ("9.5\t1.0\t8\t998\t200", "lines.tsv:4: pos_pid '998' is not in"),
    ("9.5\t1.0\t77\t300\t200", "lines.tsv:4: query_id '77' is not in"),   # a query the queries lack
    ("9.5\tinf\t8\t300\t200", "lines.tsv:4: neg_score 'inf' is not finite"),
    ("-inf\t1.0\t8\t300\t200", "lines.tsv:4: pos_score '-inf' is not finite"),
    ("NaN\t1.0\t8\t300\t200", "lines.tsv:4: pos_score 'NaN' is not finite"),
])
def test_teacher_import_names_the_line_of_a_bad_score_or_unknown_id(tmp_path, bad, where):
    """Line 4 of 6, in the second of several CSV blocks: the line number is exact, and nothing
    is written."""
    good = ["9.5\t-1.25\t7\t100\t200", "9.5\t2.5\t7\t100\t201", "3.0\t1.0\t8\t300\t200"]
    src = tmp_path / "lines.tsv"
    src.write_text("\n".join([*good, bad, *good]) + "\n")
    pq.write_table(pa.table({"doc_id": ["100", "200", "201", "300"], "text": ["a", "b", "c", "d"]}),
                   tmp_path / "corpus.parquet")
    pq.write_table(pa.table({"query_id": ["7", "8"], "text": ["a", "b"]}), tmp_path / "queries.parquet")
    with pytest.raises(InputError, match=where):
        import_published(str(src), str(tmp_path / "pairs.parquet"), block_size=40, triples_out=str(tmp_path / "t"),
                         corpus=str(tmp_path / "corpus.parquet"), queries=str(tmp_path / "queries.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.parquet", "lines.tsv", "queries.parquet"]


def test_train_pairs_sampled_negatives_are_seeded_and_drawn_from_the_depth():
    r = run([("q", f"d{i}", 100.0 - i) for i in range(50)])
    qrels = pd.DataFrame({"query_id": ["q"], "doc_id": ["d3"], "relevance": [1]})
    corpus = np.array([f"r{i}" for i in range(500)])  # the ids random negatives are drawn from
    a = train_pairs(r, qrels, 5, depth=20, seed=1, n_random=3, doc_ids=corpus)
    b = train_pairs(r, qrels, 5, depth=20, seed=1, n_random=3, doc_ids=corpus)
    assert a.equals(b)
    assert a["doc_id"].iloc[0] == "d3" and a["label"].tolist() == [1] + [0] * (len(a) - 1)
    neg = a["doc_id"].iloc[1:].tolist()
    bm25 = [d for d in neg if d.startswith("d")]
    assert len(bm25) == 5 and all(int(d[1:]) < 21 for d in bm25) and "d3" not in neg
    assert 1 <= sum(d.startswith("r") for d in neg) <= 3
    assert bm25 != [f"d{i}" for i in (0, 1, 2, 4, 5)]  # a sample, not simply the top 5
