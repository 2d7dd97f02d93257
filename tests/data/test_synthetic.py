"""The synthetic demo dataset (dualrank.data.synthetic): contracts, determinism, splits, and
that the task has the intended difficulty — BM25 (a small reference implementation here, not
in the library) finds the entity but mostly not the attribute, while an "entity AND attribute"
oracle ranks the relevant passage first.

Run ``python tests/data/test_synthetic.py`` to print the BM25 and oracle figures.
"""

from __future__ import annotations

import re
from collections import Counter

import ir_measures
import numpy as np
import pandas as pd
import pytest
from ir_measures import RR, R, nDCG

from dualrank.data import contracts
from dualrank.data import synthetic
from dualrank.cli import synthetic as synthetic_cli
from dualrank.data.io import InputError

# ------------------------------------------------------------------- reference BM25 ----
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lowercase, split on anything that is not a letter or digit (no stemming, no stopwords)."""
    return _TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5))."""

    def __init__(self, doc_ids: list[str], texts: list[str], k1: float = 0.9, b: float = 0.4):
        self.doc_ids = np.asarray(doc_ids)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(texts))
        for d, text in enumerate(texts):
            tf = Counter(tokenize(text))
            lengths[d] = sum(tf.values())
            for term, n in tf.items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(d)
                tfs.append(n)
        norm = k1 * (1 - b + b * lengths / lengths.mean())
        n_docs = len(texts)
        self.postings = {}
        for term, (docs, tfs) in postings.items():
            docs_a, tf_a = np.asarray(docs), np.asarray(tfs, dtype=float)
            idf = np.log(1 + (n_docs - len(docs) + 0.5) / (len(docs) + 0.5))
            self.postings[term] = (docs_a, idf * tf_a * (k1 + 1) / (tf_a + norm[docs_a]))
        self.n_docs = n_docs

    def search(self, query: str, k: int = 100) -> list[tuple[str, float]]:
        scores = np.zeros(self.n_docs)
        for term in tokenize(query):  # a repeated query term counts again, as in Lucene
            if term in self.postings:
                docs, contrib = self.postings[term]
                scores[docs] += contrib
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.doc_ids[i], float(scores[i])) for i in top if scores[i] > 0]


def bm25_run(tables: dict[str, pd.DataFrame], split: str, k: int = 100) -> pd.DataFrame:
    corpus = tables["corpus"]
    index = BM25(corpus.doc_id.tolist(), corpus.text.tolist())
    rows = []
    for qid, text in tables[f"queries-{split}"].itertuples(index=False):
        rows += [(qid, doc, score) for doc, score in index.search(text, k)]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def evaluate(tables, split: str) -> dict[str, float]:
    run = bm25_run(tables, split)
    qrels = tables[f"qrels-{split}"].assign(relevance=lambda d: d.relevance.astype(int))
    rel = 2 if split == "dl19" else 1  # DL19 binarises at grade >= 2 for MRR and recall
    res = ir_measures.calc_aggregate([RR(rel=rel) @ 10, nDCG @ 10, R(rel=rel) @ 100], qrels, run)
    return {"MRR@10": res[RR(rel=rel) @ 10], "nDCG@10": res[nDCG @ 10],
            "R@100": res[R(rel=rel) @ 100]}


def meta_oracle(tables, split: str) -> float:
    """Fraction of queries whose relevant passages are exactly the passages stating the pair."""
    mp, mq = tables["meta-passages"], tables["meta-queries"]
    mq = mq[mq.split == split]
    stating = mp[mp.role != "general"].groupby(["entity", "attribute"]).doc_id.apply(set)
    qrels = tables[f"qrels-{split}"]
    rel = qrels[qrels.relevance >= (2 if split == "dl19" else 1)].groupby("query_id").doc_id.apply(set)
    return float(np.mean([stating[(e, a)] == rel[q] for q, e, a in
                          mq[["query_id", "entity", "attribute"]].itertuples(index=False)]))


def text_oracle(tables, split: str) -> float:
    """Fraction of queries for which the passages whose *text* states (entity, attribute) —
    found with :func:`synthetic.statement_regex` — are all relevant and include one."""
    corpus = tables["corpus"]
    mq = tables["meta-queries"]
    qrels = tables[f"qrels-{split}"]
    rel = qrels[qrels.relevance >= (2 if split == "dl19" else 1)].groupby("query_id").doc_id.apply(set)
    hits = []
    for q, e, a in mq[mq.split == split][["query_id", "entity", "attribute"]].itertuples(
            index=False):
        found = set(corpus.doc_id[corpus.text.str.contains(synthetic.statement_regex(a, e))])
        hits.append(bool(found) and found <= rel[q])
    return float(np.mean(hits))


# --------------------------------------------------------------------------- fixtures ----
SMALL = {"n_entities": 60, "n_train": 150, "n_valid": 20, "n_dev": 30, "n_dl19": 10}


@pytest.fixture(scope="module")
def ms():
    return synthetic.generate("msmarco", 0, with_meta=True)


@pytest.fixture(scope="module")
def nq():
    return synthetic.generate("nq", 0, with_meta=True)


@pytest.fixture(scope="module", params=["msmarco", "nq"])
def tables(request, ms, nq):
    return {"msmarco": ms, "nq": nq}[request.param]


# ------------------------------------------------------------------------------ tests ----
def test_same_seed_same_bytes(tmp_path):
    args = ["--flavour", "msmarco", "--seed", "3"]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    synthetic_cli.main(args + ["--out-dir", str(tmp_path / "a")])
    synthetic_cli.main(args + ["--out-dir", str(tmp_path / "b")])
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(["corpus.parquet"] + [f"{k}-{s}.parquet" for k in ("queries", "qrels")
                                                 for s in ("train", "valid", "dev", "dl19")])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = synthetic.generate("msmarco", 4, **SMALL)["corpus"]
    assert not other.equals(contracts.read(tmp_path / "a" / "corpus.parquet", "corpus"))


def test_corpus_does_not_depend_on_query_counts():
    a = synthetic.generate("nq", 1, **{**SMALL, "n_train": 100})
    b = synthetic.generate("nq", 1, **{**SMALL, "n_train": 120})
    assert a["corpus"].equals(b["corpus"])


def test_contracts_and_ids(tables):
    splits = [k.split("-", 1)[1] for k in tables if k.startswith("queries-")]
    for name, df in tables.items():
        kind = name.split("-")[0]
        if kind in ("corpus", "queries", "qrels"):
            t = contracts.to_table(df, kind, where=name)
            assert t.schema.names == contracts.schema(kind).names
            assert list(df.columns) == contracts.schema(kind).names
    corpus = tables["corpus"]
    assert corpus.doc_id.is_unique and corpus.doc_id.str.fullmatch(r"d\d+").all()
    docs = set(corpus.doc_id)
    for s in splits:
        q, r = tables[f"queries-{s}"], tables[f"qrels-{s}"]
        assert q.query_id.is_unique and q.query_id.str.fullmatch(r"q\d+").all()
        assert set(r.doc_id) <= docs, s
        assert set(r.query_id) == set(q.query_id), s
        assert not r.duplicated(["query_id", "doc_id"]).any()


def test_sizes_and_lengths(tables):
    corpus = tables["corpus"]
    assert 3000 <= len(corpus) <= 5000
    body = corpus.text.str.split().str.len()
    if "queries-dl19" not in tables:  # nq: "Title. text"
        body -= tables["meta-passages"].entity.str.split().str.len()
    assert body.between(20, 60).all() and 30 <= body.mean() <= 50
    expected = {"train": 2000, "valid": 200, "dev": 300, "dl19": 43}
    for s, n in expected.items():
        if f"queries-{s}" in tables:
            q = tables[f"queries-{s}"]
            assert len(q) == n
            assert q.text.str.split().str.len().between(3, 11).all()


def test_splits_disjoint_and_generalise(tables):
    mq = tables["meta-queries"]
    assert mq.query_id.is_unique
    assert not mq.duplicated(["entity", "attribute"]).any()  # one query per fact, any split
    train = mq[mq.split == "train"]
    held_out = mq[mq.split != "train"]
    assert set(held_out.entity) <= set(train.entity)
    assert set(held_out.attribute) <= set(train.attribute)


def test_binary_qrels_one_or_two_relevant(tables):
    for s in ("train", "valid", "dev"):
        r = tables[f"qrels-{s}"]
        assert (r.relevance == 1).all()
        assert r.groupby("query_id").size().between(1, 2).all()
    assert (tables["qrels-dev"].groupby("query_id").size() == 2).any()


def test_dl19_graded(ms):
    r = ms["qrels-dl19"]
    assert set(r.relevance) == {0, 1, 2, 3}
    assert (r.groupby("query_id").relevance.max() == 3).all()
    assert (r[r.relevance == 3].groupby("query_id").size() == 1).all()
    assert r.groupby("query_id").size().min() >= 5
    assert "queries-dl19" not in synthetic.generate("nq", 0, **SMALL)


def test_nq_titles(nq):
    mp = nq["meta-passages"]
    assert all(t.startswith(e + ". ") for t, e in zip(nq["corpus"].text, mp.entity))
    assert nq["queries-dev"].text.str.match(r"(who|what|when|where|which|how|in|on|did) ").all()


def test_oracles_rank_the_relevant_first(tables):
    for s in ("dev", "dl19") if "qrels-dl19" in tables else ("dev",):
        assert meta_oracle(tables, s) == 1.0
        assert text_oracle(tables, s) >= 0.99


def test_bm25_difficulty(tables):
    dev = evaluate(tables, "dev")
    assert 0.15 <= dev["MRR@10"] <= 0.45, dev
    assert dev["R@100"] > 0.8, dev
    if "qrels-dl19" in tables:
        dl19 = evaluate(tables, "dl19")
        assert 0.15 <= dl19["MRR@10"] <= 0.6, dl19


def test_bad_sizes_fail_clearly():
    with pytest.raises(InputError, match="facts"):
        synthetic.generate("msmarco", 0, n_entities=20, n_train=500)
    with pytest.raises(InputError, match="flavour"):
        synthetic.generate("robust04", 0)


def test_cli_reports_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        synthetic_cli.main(["--out-dir", str(tmp_path), "--n-entities", "20"])
    assert exit_.value.code == 2
    assert "queries requested" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


if __name__ == "__main__":
    for flavour in ("msmarco", "nq"):
        t = synthetic.generate(flavour, 0, with_meta=True)
        print(flavour, {k: len(v) for k, v in t.items() if not k.startswith("meta")})
        for s in ("dev", "dl19") if flavour == "msmarco" else ("dev",):
            figures = {k: round(v, 3) for k, v in evaluate(t, s).items()}
            print(f"  {s}: BM25 {figures}  meta-oracle {meta_oracle(t, s):.3f}"
                  f"  text-oracle {text_oracle(t, s):.3f}")
