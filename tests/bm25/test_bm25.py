"""Lucene BM25 through pyserini (dualrank.bm25: java, jvm, index, engine, search; the bm25-index and
bm25-search commands).

The tiny corpus below is analysed by Anserini's DefaultEnglishAnalyzer (lower case, Lucene's 33
English stop words, Porter stemmer) into the tokens in the comments; rankings and scores are
worked out by hand from them.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import pyarrow.compute as pc

from dualrank.bm25 import engine, index as bm25_index, java, jvm, search as bm25
from dualrank.cli import bm25_index as index_cli, bm25_search as search_cli
from dualrank.data import contracts
from dualrank.data import readers
from dualrank.data.io import InputError

needs_pyserini = pytest.mark.skipif(
    importlib.util.find_spec("pyserini") is None, reason="pyserini not installed"
)

K1, B = 0.9, 0.4

DOCS = {  # text -> analysed tokens (asserted below)
    "d1": ("The cat sat on the mat.", ["cat", "sat", "mat"]),
    "d2": ("Dogs chase cats.", ["dog", "chase", "cat"]),
    "d3": ("A cat, a cat, a cat!", ["cat", "cat", "cat"]),
    "d4": ("Birds sing.", ["bird", "sing"]),
    "d5": ("the of and", []),  # stop words only: indexed, but outside N and avgdl
    "d6": ("Dogs and birds", ["dog", "bird"]),
    "d7": ("Café au lait", ["café", "au", "lait"]),
}
# Lucene's N (docCount) and avgdl count only documents with at least one indexed term.
N = 6
AVGDL = (3 + 3 + 3 + 2 + 0 + 2 + 3) / N


def lucene_bm25(tf: int, df: int, dl: int, k1: float = K1, b: float = B) -> float:
    """Lucene BM25Similarity (Lucene >= 8: no (k1 + 1) factor in the numerator)."""
    idf = math.log(1 + (N - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + k1 * (1 - b + b * dl / AVGDL))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bm25")
    corpus = pd.DataFrame({"doc_id": list(DOCS), "text": [t for t, _ in DOCS.values()]})
    contracts.write(corpus, root / "corpus.parquet", "corpus")
    meta = bm25_index.build_index(root / "corpus.parquet", root / "index", threads=2)
    assert meta["documents"] == 7 and meta["total_terms"] == 16
    return root / "index"


def run_for(index: Path, queries: dict[str, str], **kw) -> pd.DataFrame:
    q = pd.DataFrame({"query_id": list(queries), "text": list(queries.values())})
    return bm25.search(index, q, threads=2, **kw)


@needs_pyserini
def test_lucene_logs_warnings_only(tiny):
    # Lucene's INFO lines (java.util.logging, a date format of their own) stay out of job logs.
    from jnius import autoclass

    root = autoclass("java.util.logging.LogManager").getLogManager().getLogger("")
    assert root.getLevel().getName() == "WARNING"
    assert not autoclass("java.util.logging.Logger").getLogger("org.apache.lucene.store").isLoggable(
        autoclass("java.util.logging.Level").INFO)


@needs_pyserini
def test_analyzer_is_what_the_hand_computations_assume(tiny):
    ns = jvm.pyserini_lucene()
    analyzer = ns.Analyzer(ns.get_lucene_analyzer())
    for doc_id, (text, tokens) in DOCS.items():
        assert analyzer.analyze(text) == tokens, doc_id


@needs_pyserini
def test_ranking_by_hand(tiny):
    run = run_for(
        tiny,
        {
            "q_cat": "cats",  # d3 (tf 3) > d1 = d2 (tf 1, same length): tie broken by doc_id
            "q_mix": "dog birds",  # d6 has both; d4 (bird, dl 2) beats d2 (dog, dl 3)
            "q_stop": "the and of",  # no indexable term: no rows
            "q_none": "zebra",  # no match: no rows
            "q_empty": "   ",
            "q_cafe": "CAFÉ?",  # non-ASCII text survives the trip through Anserini
        },
    )
    got = {q: g.sort_values("rank")["doc_id"].tolist() for q, g in run.groupby("query_id")}
    assert got == {"q_cat": ["d3", "d1", "d2"], "q_mix": ["d6", "d4", "d2"], "q_cafe": ["d7"]}
    # contract: types, ranks from 1, strictly decreasing scores (Anserini separates ties by 1e-6)
    assert list(run.columns) == ["query_id", "doc_id", "score", "rank"]
    assert run["score"].dtype == "float32" and run["rank"].dtype == "int32"
    assert run["query_id"].tolist()[:3] == ["q_cat"] * 3  # input order of queries
    for _, g in run.groupby("query_id"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert g["score"].is_monotonic_decreasing and g["score"].is_unique
    cat = run[run.query_id == "q_cat"].set_index("doc_id")["score"]
    assert cat["d1"] - cat["d2"] == pytest.approx(1e-6, abs=2e-7)


@needs_pyserini
def test_score_equals_lucene_formula_by_hand(tiny):
    ns = jvm.pyserini_lucene()
    reader = ns.LuceneIndexReader(str(tiny))
    # "cats" in d3: tf 3, df 3 (d1 d2 d3), dl 3; on paper: idf = ln(1 + 3.5/3.5) = ln 2,
    # avgdl = 16/6, k1 (1 - b + b dl/avgdl) = 0.9 (0.6 + 0.45) = 0.945, score = ln 2 * 3/3.945
    hand_d3 = lucene_bm25(tf=3, df=3, dl=3)
    assert hand_d3 == pytest.approx(math.log(2) * 3 / 3.945, rel=1e-12)
    assert hand_d3 == pytest.approx(0.52711, abs=1e-5)
    assert reader.compute_query_document_score("d3", "cats") == pytest.approx(hand_d3, rel=1e-6)
    # "dog birds" in d6: two terms, each tf 1, df 2, dl 2
    hand_d6 = 2 * lucene_bm25(tf=1, df=2, dl=2)
    assert reader.compute_query_document_score("d6", "dog birds") == pytest.approx(
        hand_d6, rel=1e-6
    )
    # the run carries Anserini's scores: rounded to 4 decimals
    run = run_for(tiny, {"a": "cats", "b": "dog birds"})
    top = run[run["rank"] == 1].set_index("query_id")["score"]
    assert top["a"] == pytest.approx(round(hand_d3, 4), abs=1e-6)
    assert top["b"] == pytest.approx(round(hand_d6, 4), abs=1e-6)


@needs_pyserini
def test_k1_b_and_k_are_applied(tiny):
    run = run_for(tiny, {"q": "cats"}, k=2, k1=1.2, b=0.75)
    assert run["doc_id"].tolist() == ["d3", "d1"]
    assert run["score"].iloc[0] == pytest.approx(
        round(lucene_bm25(tf=3, df=3, dl=3, k1=1.2, b=0.75), 4), abs=1e-6
    )


@needs_pyserini
def test_queries_missing_from_anserinis_run_are_searched_again(tiny, monkeypatch, caplog):
    """A query SearchCollection leaves out (as a failed search thread would) is answered by
    pyserini's LuceneSearcher, with the same hits."""
    full = run_for(tiny, {"a": "cats", "b": "dog birds"})
    read = engine.read_trec_run

    def drop_b(path, where):
        t = read(path, where)
        return t.filter(pc.not_equal(t["query_id"], "b"))

    monkeypatch.setattr(engine, "read_trec_run", drop_b)
    with caplog.at_level("WARNING", logger="dualrank.bm25.engine"):
        again = run_for(tiny, {"a": "cats", "b": "dog birds"})
    assert "no hits for 1 queries that LuceneSearcher answers" in caplog.text
    pd.testing.assert_frame_equal(
        again[["query_id", "doc_id", "rank"]], full[["query_id", "doc_id", "rank"]]
    )
    assert (again["score"] - full["score"]).abs().max() < 1e-6


@needs_pyserini
def test_cli_writes_run_contract_and_replaces_index_atomically(tmp_path):
    corpus = pd.DataFrame({"doc_id": ["a", "b"], "text": ["red apples", "green apples"]})
    contracts.write(corpus, tmp_path / "corpus.parquet", "corpus")
    contracts.write(
        pd.DataFrame({"query_id": ["1"], "text": ["red apple"]}), tmp_path / "q.parquet", "queries"
    )
    index = tmp_path / "index"
    index.mkdir()
    (index / "stale-file").write_text("from an older build")
    assert index_cli.main(["--corpus", str(tmp_path / "corpus.parquet"), "--index", str(index),
                      "--threads", "1"]) == 0  # fmt: skip
    assert not (index / "stale-file").exists() and (index / bm25_index.INDEX_META).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.parquet", "index", "q.parquet"]
    out = tmp_path / "run.parquet"
    assert search_cli.main(["--index", str(index), "--queries", str(tmp_path / "q.parquet"),
                      "--out", str(out), "--k", "10"]) == 0  # fmt: skip
    run = contracts.read(out, "run")
    assert run["doc_id"].tolist() == ["a", "b"] and run["rank"].tolist() == [1, 2]


@needs_pyserini
def test_bad_input_fails_naming_the_file_and_leaves_nothing(tmp_path, tiny):
    dup = pd.DataFrame({"doc_id": ["a", "a"], "text": ["x", "y"]})
    contracts.write(dup, tmp_path / "dup.parquet", "corpus")
    with pytest.raises(InputError, match=r"dup\.parquet.*duplicate doc_id.*'a'"):
        bm25_index.build_index(tmp_path / "dup.parquet", tmp_path / "index")
    spaced = pd.DataFrame({"doc_id": ["ok", "has space"], "text": ["x", "y"]})
    contracts.write(spaced, tmp_path / "spaced.parquet", "corpus")
    with pytest.raises(InputError, match=r"spaced\.parquet: row 1: doc_id 'has space'"):
        bm25_index.build_index(tmp_path / "spaced.parquet", tmp_path / "index")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.parquet", "spaced.parquet"]
    with pytest.raises(InputError, match="query_id"):
        run_for(tiny, {"q 1": "cats"})
    with pytest.raises(InputError, match="not a Lucene index"):
        run_for(tmp_path, {"q": "cats"})


@needs_pyserini
def test_cacm_matches_anserini_regression(shared_data, tmp_path):
    """Anserini's CACM regression through the pipeline's own stage commands.

    The documents are read from ``cacm.tar.gz`` as Anserini's ``HtmlCollection`` reads them
    (Jsoup text of each ``CACM-nnnn.html``), written as the corpus contract; the topics as the
    queries contract; then ``dualrank bm25-index`` and ``dualrank bm25-search`` run as
    subprocesses with the arguments of workflow/rules/candidates.smk (k1=0.9, b=0.4, 1000 hits)
    and the run Parquet is scored like trec_eval: MAP 0.3123, P@30 0.1942; index stats 3204
    docs, 14363 unique terms, 320968 terms (../shared/data/cacm/PROVENANCE.txt)."""
    ir_measures = pytest.importorskip("ir_measures")
    d = shared_data / "cacm"
    corpus = contracts.write(
        readers.read_cacm_html(d / "cacm.tar.gz"), tmp_path / "corpus.parquet", "corpus"
    )
    queries = contracts.write(
        readers.read_trec_sgml(d / "topics.cacm.txt", "queries"),
        tmp_path / "queries.parquet",
        "queries",
    )
    index, out = tmp_path / "bm25-index", tmp_path / "bm25-test.parquet"
    stage = [sys.executable, "-m", "dualrank.cli"]
    for argv in (
        ["bm25-index", "--corpus", str(corpus), "--index", str(index), "--threads", "2"],
        ["bm25-search", "--index", str(index), "--queries", str(queries), "--out", str(out),
         "--k", "1000", "--k1", "0.9", "--b", "0.4", "--threads", "2"],
    ):  # fmt: skip
        proc = subprocess.run(stage + argv, capture_output=True, text=True)
        assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stderr}"

    meta = bm25_index.read_index_meta(index)
    assert (meta["documents"], meta["unique_terms"], meta["total_terms"]) == (3204, 14363, 320968)
    assert meta["input_documents"] == 3204 and meta["skipped_empty_documents"] == 0
    run = contracts.read(out, "run")
    assert run.query_id.nunique() == 64 and run.groupby("query_id").size().max() <= 1000
    qrels = list(ir_measures.read_trec_qrels(str(d / "qrels.cacm.txt")))
    res = ir_measures.calc_aggregate([ir_measures.AP, ir_measures.P @ 30], qrels, run)
    ap, p30 = res[ir_measures.AP], res[ir_measures.P @ 30]  # 0.312252..., 0.194230...
    assert ap == pytest.approx(0.3123, abs=1e-3) and p30 == pytest.approx(0.1942, abs=1e-3)
    assert (f"{ap:.4f}", f"{p30:.4f}") == ("0.3123", "0.1942")  # as Anserini reports them


# ------------------------------------------------------------------ JVM set-up (no JVM needed)


def _fake_java(root: Path, version: str, modules: str = "java.base") -> Path:
    (root / "lib" / "server").mkdir(parents=True)
    (root / "lib" / "server" / "libjvm.so").write_bytes(b"")
    (root / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="{modules}"\n')
    return root


def test_find_java_refuses_java_17(tmp_path, monkeypatch):
    home = _fake_java(tmp_path / "jdk17", "17.0.15")
    monkeypatch.setenv("DUALRANK_JAVA_HOME", str(home))
    with pytest.raises(java.JavaNotFoundError, match="17.0.15.*needs Java >= 21"):
        java.find_java()
    home21 = _fake_java(tmp_path / "jdk21", "21.0.8")
    monkeypatch.setenv("DUALRANK_JAVA_HOME", str(home21))
    assert java.find_java().major == 21


def test_incubator_vector_option_only_where_the_runtime_has_it(tmp_path):
    pyserini_opts = ["--add-modules=jdk.incubator.vector", "-Xmx2g"]
    bare = java.inspect_java_home(_fake_java(tmp_path / "a", "21.0.8", "java.base jdk.zipfs"))
    full = java.inspect_java_home(
        _fake_java(tmp_path / "b", "25.0.1", "java.base jdk.incubator.vector")
    )
    assert jvm.filter_options(pyserini_opts, bare) == ["-Xmx2g"]
    assert jvm.filter_options(["--add-modules", "jdk.incubator.vector"], bare) == []
    assert jvm.filter_options(pyserini_opts, full) == [
        "-Xmx2g",
        "--add-modules=jdk.incubator.vector",
    ]
