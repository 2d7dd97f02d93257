"""The pairs stage's commands (dualrank candidates, teacher-import, aggregate) write what the
library functions return, through the `dualrank` registry, and fail with exit code 2 on bad input."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dualrank import cli
from dualrank.data import contracts
from dualrank.pairs.aggregate import aggregate
from dualrank.pairs.candidates import mix, train_pairs


@pytest.fixture
def bm25(tmp_path):
    run = pd.DataFrame({"query_id": ["q"] * 12 + ["u"] * 3, "doc_id": [f"d{i}" for i in range(12)] + ["d0", "d1", "d2"],
                        "score": np.r_[np.arange(12, 0, -1), [3, 2, 1]].astype("float32"),
                        "rank": np.r_[np.arange(1, 13), [1, 2, 3]].astype("int32")})
    qrels = pd.DataFrame({"query_id": ["q", "u"], "doc_id": ["d4", "z"], "relevance": [1, 1]})
    corpus = pd.DataFrame({"doc_id": [f"d{i}" for i in range(12)] + [f"r{i}" for i in range(30)] + ["z"],
                           "text": "some text"})
    paths = {name: contracts.write(df, tmp_path / f"{name}.parquet", kind)
             for name, df, kind in [("run", run, "run"), ("qrels", qrels, "qrels"), ("corpus", corpus, "corpus")]}
    return paths, run, qrels, corpus


def test_candidates_pairs_and_mix(tmp_path, bm25):
    paths, run, qrels, corpus = bm25
    common = ["--run", str(paths["run"]), "--qrels", str(paths["qrels"]), "--corpus", str(paths["corpus"])]
    assert cli.main(["candidates", "pairs", *common, "--negatives", "3", "--sample-depth", "8", "--seed", "2",
                     "--random", "2", "--out", str(tmp_path / "p.parquet")]) == 0
    want = train_pairs(run, qrels, 3, 8, 2, 2, corpus["doc_id"].to_numpy())
    pd.testing.assert_frame_equal(contracts.read(tmp_path / "p.parquet", "pairs"),
                                  contracts.to_table(want, "pairs").to_pandas())
    assert cli.main(["candidates", "mix", *common, "--bm25", "4", "--random", "5", "--seed", "0",
                     "--out", str(tmp_path / "m.parquet")]) == 0
    pd.testing.assert_frame_equal(contracts.read(tmp_path / "m.parquet", "run"),
                                  contracts.to_table(mix(run, qrels, corpus["doc_id"].to_numpy(), 4, 5, 0),
                                                     "run").to_pandas())


def test_teacher_import_then_aggregate(tmp_path):
    src = tmp_path / "t1.tsv"
    src.write_text("9.5\t-1.25\t7\t100\t200\n9.5\t2.5\t7\t100\t201\n3.0\t1.0\t8\t300\t200\n")
    pairs, groups = tmp_path / "pairs.parquet", tmp_path / "groups.parquet"
    assert cli.main(["teacher-import", "--scores", str(src), "--out", str(pairs)]) == 0
    assert cli.main(["aggregate", "--pairs", str(pairs), "--k", "2", "--out", str(groups)]) == 0
    t = pq.read_table(groups)
    got = pd.DataFrame({c: t[c].to_pylist() for c in t.column_names})
    assert got.to_dict("list") == aggregate(contracts.read(pairs, "pairs"), k=2).to_dict("list")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups.parquet", "pairs.parquet", "t1.tsv"]


def test_bad_input_exits_2_and_leaves_nothing(tmp_path):
    src = tmp_path / "t1.tsv"
    src.write_text("9.5\t\t7\t100\t200\n")
    with pytest.raises(SystemExit) as e:
        cli.main(["teacher-import", "--scores", str(src), "--out", str(tmp_path / "pairs.parquet")])
    assert e.value.code == 2 and [p.name for p in tmp_path.iterdir()] == ["t1.tsv"]


def test_teacher_score_scores_every_pair_with_the_ca(tmp_path):
    import torch

    from dualrank.models import build_model, load_model
    from dualrank.retrieval.rerank import score_candidates
    from dualrank.text.cache import for_model
    from dualrank.text.tokenizer import train_wordpiece

    texts = {"d0": "the mill by the river", "d1": "vale of tessel", "d2": "river mill vale"}
    corpus = contracts.write(pd.DataFrame({"doc_id": list(texts), "text": list(texts.values())}),
                             tmp_path / "corpus.parquet", "corpus")
    queries = contracts.write(pd.DataFrame({"query_id": ["q"], "text": ["mill river"]}),
                              tmp_path / "queries.parquet", "queries")
    pairs = contracts.write(pd.DataFrame({"query_id": "q", "doc_id": list(texts), "label": [1, 0, 0],
                                          "teacher_score": np.nan}), tmp_path / "pairs.parquet", "pairs")
    train_wordpiece(corpus, tmp_path / "tok", vocab_size=60, extra_texts=["mill river"] * 2)
    torch.manual_seed(0)
    build_model("ca", {"init": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}}, str(tmp_path / "tok"),
                8, 16).save(tmp_path / "model")
    out = tmp_path / "scored.parquet"
    assert cli.main(["teacher-score", "--model", str(tmp_path / "model"), "--pairs", str(pairs), "--corpus",
                     str(corpus), "--queries", str(queries), "--out", str(out), "--threads", "1"]) == 0
    got = contracts.read(out, "pairs")
    model = load_model(tmp_path / "model")
    want = score_candidates(model, got[["query_id", "doc_id"]], for_model(queries, "queries", model),
                            for_model(corpus, "corpus", model), 256).set_index("doc_id")["score"]
    assert got["label"].tolist() == [1, 0, 0] and got["teacher_score"].notna().all()
    np.testing.assert_allclose(got["teacher_score"], want.loc[got["doc_id"]].to_numpy(), rtol=1e-5, atol=1e-6)
