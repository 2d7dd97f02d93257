"""Readers of the upstream formats: the real samples in shared/data, and malformed input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dualrank.data import contracts
from dualrank.cli import convert as convert_cli
from dualrank.data import convert, readers
from dualrank.data.io import InputError

from conftest import SHARED_DATA as DATA
from conftest import needs_data, write_tar

DL19 = DATA / "dl19-passage-topics-qrels"
DL19_REL = DATA / "dl19-passage-relevant-text"
DEV = DATA / "msmarco-dev-small-topics-qrels"
SUB105 = DATA / "msmarco-dev-subset105-bm25"
NQ = DATA / "nq-dpr"


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _raises_at(path: Path, line: int, *words: str):
    """pytest.raises for an InputError naming ``path:line`` and containing ``words``."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(InputError)
            self._info = self._ctx.__enter__()
            return self._info

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            msg = str(self._info.value)
            assert msg.startswith(f"{path}:{line}: "), msg
            for w in words:
                assert w in msg, (w, msg)
            return handled

    return _Check()


# ---------------------------------------------------------------------------------- real samples


@needs_data
def test_dl19_qrels_topics_and_queries():
    qrels = readers.read_qrels(DL19 / "qrels.dl19-passage.txt")
    assert len(qrels) == 9260
    assert qrels["query_id"].nunique() == 43
    assert qrels["doc_id"].nunique() == 9139
    assert qrels["relevance"].value_counts().sort_index().to_dict() == {
        0: 5158, 1: 1601, 2: 1804, 3: 697
    }
    assert str(qrels["relevance"].dtype) == "int8"
    assert list(qrels.columns) == contracts.schema("qrels").names
    assert qrels.index.name == "line" and qrels.index[0] == 1

    topics = readers.read_queries(DL19 / "topics.dl19-passage.txt")
    assert len(topics) == 43
    assert set(topics["query_id"]) == set(qrels["query_id"])
    assert topics.set_index("query_id").loc["156493", "text"] == "do goldfish grow"

    # CRLF line endings: no "\r" may survive in the text
    all200 = readers.read_queries(DL19 / "msmarco-test2019-queries.200.tsv")
    assert len(all200) == 200
    assert not all200["text"].str.contains("\r").any()
    assert set(topics["query_id"]) <= set(all200["query_id"])


@needs_data
def test_dl19_relevant_text_collection_and_binary_qrels():
    corpus = readers.read_collection(DL19_REL / "collection.dl19-rel.tsv")
    assert len(corpus) == 4103 and corpus["doc_id"].is_unique and "0" in set(corpus["doc_id"])
    assert list(corpus.columns) == ["doc_id", "text"]
    binary = readers.read_qrels(DL19_REL / "qrels.dl19-binary-rel.txt")
    assert len(binary) == 4102 and set(binary["relevance"]) == {1}
    readers.check_ids(binary, corpus["doc_id"], "doc_id", "qrels.dl19-binary-rel.txt")

    chunks = list(readers.iter_collection(DL19_REL / "collection.dl19-rel.tsv", chunk_rows=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 1000, 1000, 103]
    assert chunks[4].index[0] == 4001
    pd.testing.assert_frame_equal(pd.concat(chunks), corpus)


@needs_data
def test_check_ids_names_first_unknown_and_count():
    path = DL19 / "qrels.dl19-passage.txt"
    qrels = readers.read_qrels(path)
    corpus = readers.read_collection(DL19_REL / "collection.dl19-rel.tsv")
    known = set(corpus["doc_id"])
    # independent expectation, straight from the text
    lines = path.read_text().splitlines()
    unknown = [(i, ln.split()[2]) for i, ln in enumerate(lines, 1) if ln.split()[2] not in known]
    first_line, first_id = unknown[0]
    n_ids = len({d for _, d in unknown})
    with pytest.raises(InputError) as err:
        readers.check_ids(qrels, corpus["doc_id"], "doc_id", path, "the corpus")
    msg = str(err.value)
    assert msg.startswith(f"{path}:{first_line}: doc_id '{first_id}' is not in the corpus"), msg
    assert f"{n_ids} unknown doc_id values, {len(unknown)} of 9260 rows" in msg
    # without line numbers (e.g. a Parquet table) the message names the path only
    with pytest.raises(InputError, match=rf"^{path}: doc_id '{first_id}'"):
        readers.check_ids(qrels.reset_index(drop=True), known, "doc_id", path)


@needs_data
def test_msmarco_dev_small_topics_qrels():
    queries = readers.read_queries(DEV / "topics.msmarco-passage.dev-subset.txt")
    qrels = readers.read_qrels(DEV / "qrels.msmarco-passage.dev-subset.txt")
    assert len(queries) == 6980 and len(qrels) == 7437
    assert qrels["query_id"].nunique() == 6980
    assert set(qrels["query_id"]) == set(queries["query_id"])
    readers.check_ids(qrels, queries["query_id"], "query_id", DEV, "the queries")


@needs_data
def test_msmarco_subset105_tab_qrels_and_msmarco_run():
    qrels = readers.read_qrels(SUB105 / "qrels.dev.small.tsv")  # tab-separated variant
    assert len(qrels) == 114 and qrels["query_id"].nunique() == 105
    queries = readers.read_queries(SUB105 / "queries.dev.small.tsv")
    assert len(queries) == 105
    run = readers.read_run(SUB105 / "run.dev.small.tsv")  # "qid<TAB>pid<TAB>rank"
    assert len(run) == 105_000 and run["query_id"].nunique() == 105
    assert (run.groupby("query_id")["rank"].agg(["min", "max"]) == [1, 1000]).all().all()
    assert (run["score"] == -run["rank"]).all()
    assert run.iloc[0].to_dict() == {
        "query_id": "188714", "doc_id": "2133570", "score": -1.0, "rank": 1
    }


@needs_data
def test_trec_runs():
    run = readers.read_run(DATA / "dl19-passage-bm25-top100-run/run.dl19-passage.bm25.top100.trec")
    assert len(run) == 4300 and run["query_id"].nunique() == 43
    assert run["doc_id"].nunique() == 4297
    first = run.iloc[0]
    assert (first["query_id"], first["doc_id"], first["rank"]) == ("264014", "5611210", 1)
    assert first["score"] == pytest.approx(15.780599594116211, abs=0)
    assert list(run.columns) == contracts.schema("run").names
    for name, n in [("ICT-BERT2", 4000), ("ICT-CKNRM_B", 4000), ("ICT-CKNRM_B50", 10000)]:
        r = readers.read_run(DATA / "dl19-official-runs-eval/runs" / name)  # tab-separated TREC
        assert len(r) == n and r["query_id"].nunique() == 200


@needs_data
def test_triples_sample():
    path = DATA / "msmarco-train-triples-sample100/triples.train.small.first100.tsv"
    triples = readers.read_triples(path)
    assert len(triples) == 100 and list(triples.columns) == ["query", "positive", "negative"]
    assert triples.iloc[0]["query"] == "is a little caffeine ok during pregnancy"
    positive = triples.iloc[0]["positive"]
    assert "don\u00e2\u0080\u0099t" in positive  # the original mojibake is kept as is
    assert "don\u2019t" in positive.encode("latin-1").decode("utf-8")  # PROVENANCE's fix
    assert [len(c) for c in readers.iter_triples(path, chunk_rows=30)] == [30, 30, 30, 10]


@needs_data
def test_dpr_nq_json():
    path = NQ / "nq-dev-dpr-sample5.json"
    raw = json.loads(path.read_text())
    assert [len(r["positive_ctxs"]) for r in raw] == [5, 6, 3, 1, 7]
    assert [len(r["hard_negative_ctxs"]) for r in raw] == [96, 95, 98, 100, 94]

    data = readers.read_dpr_json(path)
    assert data.queries["query_id"].tolist() == ["0", "1", "2", "3", "4"]
    assert data.queries["text"].iloc[0] == "who sings does he love me with reba"
    assert data.answers["answers"].iloc[0] == ["Linda Davis"]
    for i, r in enumerate(raw):
        pos = {c["passage_id"] for c in r["positive_ctxs"]}
        hard = {c["passage_id"] for c in r["hard_negative_ctxs"]} - pos
        q = data.qrels[data.qrels["query_id"] == str(i)]
        assert set(q["doc_id"]) == pos and len(q) == len(pos) and set(q["relevance"]) == {1}
        p = data.pairs[data.pairs["query_id"] == str(i)]
        assert set(p.loc[p["label"] == 1, "doc_id"]) == pos
        assert set(p.loc[p["label"] == 0, "doc_id"]) == hard
    assert data.pairs["teacher_score"].isna().all()
    assert data.corpus["doc_id"].is_unique
    readers.check_ids(data.qrels, data.corpus["doc_id"], "doc_id", path)
    ctx = raw[0]["positive_ctxs"][0]
    text = data.corpus.set_index("doc_id").loc[ctx["passage_id"], "text"]
    assert text == f"{ctx['title']}{readers.TITLE_SEP}{ctx['text']}"
    for kind in ("queries", "corpus", "qrels", "pairs"):
        contracts.to_table(getattr(data, kind), kind)  # fits the contracts

    with_random = readers.read_dpr_json(path, include_random_negatives=True)
    assert len(with_random.pairs) > len(data.pairs)
    chunks = list(readers.iter_dpr_json(path, chunk_questions=2))
    assert [len(c.queries) for c in chunks] == [2, 2, 1]
    assert sum(len(c.qrels) for c in chunks) == len(data.qrels)


@needs_data
def test_dpr_nq_topics():
    dev = readers.read_nq_topics(NQ / "topics.dpr.nq.dev.txt")
    test = readers.read_nq_topics(NQ / "topics.dpr.nq.test.txt")
    assert len(dev) == 8757 and len(test) == 3610
    assert dev.iloc[0].to_dict() == {
        "query_id": "0", "text": "who sings does he love me with reba", "answers": ["Linda Davis"]
    }
    assert test.iloc[0]["answers"] == ["Wilhelm Conrad Röntgen"]
    # csv-quoted answers field (an answer holds a double quote), line 32 of the dev topics
    assert dev.iloc[31]["answers"][1] == 'Ch\u00e2teau d\'Amboise'


@needs_data
def test_cacm_and_vaswani():
    assert len(readers.read_collection(DATA / "cacm/cacm.derived.tsv")) == 3204
    topics = readers.read_trec_sgml(DATA / "cacm/topics.cacm.txt", "queries")
    assert len(topics) == 64 and topics["query_id"].iloc[0] == "1"
    assert topics["text"].iloc[0].startswith("What articles exist which deal with TSS")
    qrels = readers.read_qrels(DATA / "cacm/qrels.cacm.txt")
    assert len(qrels) == 796 and qrels["query_id"].nunique() == 52

    docs = readers.read_trec_sgml(DATA / "vaswani/doc-text.trec", "corpus")
    assert len(docs) == 11429
    assert docs["text"].iloc[0].startswith("compact memories have flexible capacities")
    vq = readers.read_trec_sgml(DATA / "vaswani/query-text.trec", "queries")
    assert len(vq) == 93 and not vq["text"].str.contains("<").any()
    vqrels = readers.read_qrels(DATA / "vaswani/qrels")
    assert len(vqrels) == 2083 and vqrels["query_id"].nunique() == 93
    readers.check_ids(vqrels, docs["doc_id"], "doc_id", "vaswani/qrels")


@needs_data
def test_cacm_html_archive():
    docs = readers.read_cacm_html(DATA / "cacm/cacm.tar.gz")
    assert len(docs) == 3204 and list(docs.columns) == ["doc_id", "text"]
    assert docs["doc_id"].tolist() == [f"CACM-{i:04d}" for i in range(1, 3205)]
    assert docs["text"].iloc[1] == (
        "Extraction of Roots by Repeated Subtractions for Digital Computers CACM December, 1958 "
        "Sugai, I. CA581202 JB March 22, 1978 8:29 PM 2 5 2 2 5 2 2 5 2"
    )
    assert not docs["text"].str.contains("<pre>|</html>").any()
    # a bare "&" and "<=" are text for an HTML parser, as for Jsoup
    text = docs.set_index("doc_id")["text"]
    assert "The M & N procedure" in text["CACM-2096"]
    assert "|B|=n, m<=n, and p, p<=m" in text["CACM-2714"]


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    return write_tar(path, members, dirs=("docs",))


def test_cacm_html_text_and_errors(tmp_path):
    page = (
        "<html><head><title>T&amp;itle</title><style>p {x: 1}</style></head><body>"
        "<p>one<b>two</b></p><div>three&nbsp;four&#x200b; &lt;5&gt; &#233;t&eacute;</div>"
        "<!-- a comment --><script>var s = 1;</script>six<br>seven\n\t eight</body></html>"
    )
    p = _tar(
        tmp_path / "ok.tar.gz",
        {"docs/A-1.html": page.encode(), "docs/B.txt": b"\xef\xbb\xbfplain"},  # BOM dropped
    )
    docs = readers.read_cacm_html(p)
    assert docs["doc_id"].tolist() == ["A-1", "B.txt"]  # Anserini strips ".html" only
    assert docs["text"].tolist() == [
        "T&itle onetwo three four <5> \u00e9t\u00e9 six seven eight",
        "plain",
    ]
    assert convert_cli.main(["cacm-html", str(p), str(tmp_path / "c.parquet")]) == 0
    assert contracts.read(tmp_path / "c.parquet", "corpus")["doc_id"].tolist() == ["A-1", "B.txt"]

    bad = b"<html><pre>\nline one\nbad \xe9 byte\n</pre></html>\n"
    p = _tar(
        tmp_path / "bad.tar.gz",
        {"docs/CACM-0001.html": b"<pre>ok</pre>", "docs/CACM-0002.html": bad},
    )
    with pytest.raises(InputError) as info:
        readers.read_cacm_html(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:docs/CACM-0002.html: invalid UTF-8 at byte 25 (line 3;"), msg
    with pytest.raises(SystemExit) as exit_:
        convert_cli.main(["cacm-html", str(p), str(tmp_path / "bad.parquet")])
    assert exit_.value.code == 2
    assert not (tmp_path / "bad.parquet").exists()

    p = _tar(tmp_path / "dup.tar.gz", {"a/X.html": b"x", "b/X.html": b"y"})
    with pytest.raises(InputError, match=r"b/X\.html: duplicate doc_id 'X' \(first from a/X"):
        readers.read_cacm_html(p)
    p = _write(tmp_path / "not.tar.gz", b"not a tar archive")
    with pytest.raises(InputError, match=r"not\.tar\.gz: not a readable tar archive"):
        readers.read_cacm_html(p)


# ------------------------------------------------------------------------------- malformed lines


def test_qrels_missing_field(tmp_path):
    p = _write(tmp_path / "q.txt", "1 0 a 1\n1 0 b 0\n1 0 c\n")
    with _raises_at(p, 3, "expected 4 whitespace-separated fields", "found 3"):
        readers.read_qrels(p)


@pytest.mark.parametrize("grade", ["1.5", "x", "", "300"])
def test_qrels_bad_grade(tmp_path, grade):
    p = _write(tmp_path / "q.txt", f"1 0 a 1\n1 0 b 0\n2 0 a 2\n2 0 c {grade}\n")
    if grade == "":
        with _raises_at(p, 4, "found 3"):
            readers.read_qrels(p)
    else:
        with _raises_at(p, 4, "relevance"):
            readers.read_qrels(p)


def test_qrels_duplicate_pair(tmp_path):
    p = _write(tmp_path / "q.txt", "1 0 a 1\n1 0 b 0\n1\t0\ta\t2\n")
    with _raises_at(p, 3, "duplicate", "first on line 1"):
        readers.read_qrels(p)


def test_bad_utf8_names_its_line(tmp_path):
    p = _write(tmp_path / "c.tsv", b"1\tfine\n2\tcaf\xc3\xa9 ok\n3\tbad \xff byte\n4\tfine\n")
    with _raises_at(p, 3, "invalid UTF-8", "byte 6"):
        readers.read_collection(p)
    # a truncated multi-byte sequence at the end of a line, too
    p = _write(tmp_path / "q.tsv", b"1\tok\n2\tcut \xe2\x82\n")
    with _raises_at(p, 2, "invalid UTF-8"):
        readers.read_queries(p)


def test_collection_and_queries_field_errors(tmp_path):
    p = _write(tmp_path / "c.tsv", "1\tone\n2 two without tab\n")
    with _raises_at(p, 2, "expected 2 tab-separated fields (doc_id, text), found 1"):
        readers.read_collection(p)
    p = _write(tmp_path / "c.tsv", "1\tone\n\t empty id\n")
    with _raises_at(p, 2, "empty doc_id"):
        readers.read_collection(p)
    p = _write(tmp_path / "c.tsv", "1\tone\n\n3\tthree\n")
    with _raises_at(p, 2, "empty line"):
        readers.read_collection(p)
    p = _write(tmp_path / "c.tsv", "1\tone\n2\ttwo\n1\tagain\n")
    with _raises_at(p, 3, "duplicate doc_id '1'", "first on line 1"):
        readers.read_collection(p)
    p = _write(tmp_path / "q.tsv", "1\tone\n2\t  \n")
    with _raises_at(p, 2, "empty text"):
        readers.read_queries(p)
    p = _write(tmp_path / "q.tsv", "1\tone\n2\ttwo\textra\n")
    with _raises_at(p, 2, "found 3"):
        readers.read_queries(p)


def test_bom_crlf_and_gzip(tmp_path):
    p = _write(tmp_path / "q.tsv", "\ufeff1\tone\r\n2\ttwo\r\n")
    q = readers.read_queries(p)
    assert q["query_id"].tolist() == ["1", "2"] and q["text"].tolist() == ["one", "two"]
    gz = tmp_path / "c.tsv.gz"
    with gzip.open(gz, "wb") as f:
        f.write(b"7\tseven\n8\teight\n")
    assert readers.read_collection(gz)["doc_id"].tolist() == ["7", "8"]
    with pytest.raises(InputError, match="no such file"):
        readers.read_collection(tmp_path / "missing.tsv")


def test_run_errors(tmp_path):
    p = _write(tmp_path / "r.trec", "1 Q0 a 1 2.5 t\n1 Q0 b 2 abc t\n")
    with _raises_at(p, 2, "score 'abc' is not a number"):
        readers.read_run(p)
    p = _write(tmp_path / "r.trec", "1 Q0 a 1 2.5 t\n1 Q0 b 2 nan t\n")
    with _raises_at(p, 2, "not finite"):
        readers.read_run(p)
    p = _write(tmp_path / "r.trec", "1 Q0 a 1 2.5 t\n1 Q0 b 2 1.5 t\n1\tc\t3\n")
    with _raises_at(p, 3, "expected 6 fields like the first line"):
        readers.read_run(p)
    p = _write(tmp_path / "r.tsv", "1\ta\t1\n1\tb\ttwo\n")
    with _raises_at(p, 2, "rank 'two' is not an integer"):
        readers.read_run(p)
    p = _write(tmp_path / "r.tsv", "1\ta\t1\t0.5\n")
    with _raises_at(p, 1, "found 4 fields"):
        readers.read_run(p)
    p = _write(tmp_path / "r.trec", "1 Q0 a 1 2.5 t\n1 Q0 b 2 1.5 t\n1 Q0 a 3 1.0 t\n")
    with _raises_at(p, 3, "duplicate query_id '1', doc_id 'a'"):
        readers.read_run(p)


def test_triples_and_teacher_scores(tmp_path):
    p = _write(tmp_path / "t.tsv", "q\tpos\tneg\nq2\tpos2\n")
    with _raises_at(p, 2, "expected 3 tab-separated fields", "found 2"):
        readers.read_triples(p)
    p = _write(tmp_path / "s.tsv", "9.5\t-1.0\t1\t10\t11\n8.0\t2.0\t1\t10\t12\n7\t1\t2\t20\t10\n")
    scores = readers.read_teacher_scores(p)
    assert scores["pos_score"].tolist() == [9.5, 8.0, 7.0]
    pairs = readers.teacher_pairs(scores)
    contracts.to_table(pairs, "pairs")
    got = {(r.query_id, r.doc_id): (r.label, r.teacher_score) for r in pairs.itertuples()}
    assert got == {
        ("1", "10"): (1, (9.5 + 8.0) / 2), ("1", "11"): (0, -1.0), ("1", "12"): (0, 2.0),
        ("2", "20"): (1, 7.0), ("2", "10"): (0, 1.0),
    }
    p = _write(tmp_path / "s.tsv", "9.5\t-1.0\t1\t10\t11\n8.0\tx\t1\t10\t12\n")
    with _raises_at(p, 2, "neg_score 'x'"):
        readers.read_teacher_scores(p)


def test_dpr_passages_tsv(tmp_path):
    p = _write(
        tmp_path / "psgs.tsv",
        'id\ttext\ttitle\n1\t"Aaron ( or ; ""Ahärôn"") is a prophet"\tAaron\n2\tplain\t"T ""q"""\n',
    )
    c = readers.read_dpr_passages(p)
    assert c["doc_id"].tolist() == ["1", "2"]
    assert c["text"].tolist() == ['Aaron Aaron ( or ; "Ahärôn") is a prophet', 'T "q" plain']
    p = _write(tmp_path / "psgs.tsv", "id\ttext\ttitle\n1\tno title\n")
    with _raises_at(p, 2, "expected 3 tab-separated fields"):
        readers.read_dpr_passages(p)
    p = _write(tmp_path / "psgs.tsv", "1\ttext\ttitle\n")
    with _raises_at(p, 1, "header"):
        readers.read_dpr_passages(p)


def _dpr_record(q, pos, hard):
    ctx = lambda pid: {"title": "T", "text": f"text {pid}", "passage_id": pid}
    return {
        "question": q, "answers": ["a"], "positive_ctxs": [ctx(p) for p in pos],
        "negative_ctxs": [], "hard_negative_ctxs": [ctx(h) for h in hard],
    }


def test_dpr_json_streaming_and_errors(tmp_path):
    records = [_dpr_record(f"q{i}", [str(i)], [str(100 + i), str(200 + i)]) for i in range(50)]
    p = _write(tmp_path / "ok.json", json.dumps(records, indent=2))
    # a tiny block size forces many refills of the stream buffer
    elements = list(readers.iter_json_array(p, block=64))
    assert [e for _, e in elements] == records
    assert elements[1][0] == json.dumps(records, indent=2).splitlines().index("  {", 2) + 1
    data = readers.read_dpr_json(p)
    assert len(data.queries) == 50 and len(data.qrels) == 50 and len(data.pairs) == 150
    assert len(readers.read_dpr_json(_write(tmp_path / "e.json", " [ ]\n")).queries) == 0

    # record 2 lacks its question: the message names the record's line
    bad = [records[0], records[1], {"answers": [], "positive_ctxs": []}]
    text = json.dumps(bad, indent=1)
    p = _write(tmp_path / "noq.json", text)
    line = text.splitlines().index(" {", text.splitlines().index(" {", 2) + 1) + 1
    with _raises_at(p, line, "record 2", "'question'"):
        readers.read_dpr_json(p)

    bad = [_dpr_record("q", ["1"], [])]
    del bad[0]["positive_ctxs"][0]["passage_id"]
    p = _write(tmp_path / "nopid.json", json.dumps(bad))
    with _raises_at(p, 1, "record 0 positive_ctxs[0]", "passage_id"):
        readers.read_dpr_json(p)

    p = _write(tmp_path / "syntax.json", '[\n{"question": "a",\n "answers": [}\n]\n')
    with _raises_at(p, 3, "invalid JSON"):
        readers.read_dpr_json(p)
    p = _write(tmp_path / "utf8.json", b'[\n{"question": "a",\n "answers": ["\xff"]}\n]\n')
    with _raises_at(p, 3, "invalid UTF-8"):
        readers.read_dpr_json(p)
    p = _write(tmp_path / "trail.json", '[{"question": "a", "positive_ctxs": []}]\nxx\n')
    with _raises_at(p, 2, "after the JSON array"):
        readers.read_dpr_json(p)
    p = _write(tmp_path / "obj.json", '{"question": "a"}')
    with _raises_at(p, 1, "expected a JSON array"):
        readers.read_dpr_json(p)


def test_trec_sgml_errors(tmp_path):
    p = _write(tmp_path / "d.trec", "<DOC>\n<DOCNO>1</DOCNO>\ntext\n</DOC>\n<DOC>\n<DOCNO>2</DOCNO>\n")
    with _raises_at(p, 5, "not closed"):
        readers.read_trec_sgml(p)
    p = _write(tmp_path / "d.trec", "<DOC>\nno id here\n</DOC>\n")
    with _raises_at(p, 1, "without <DOCNO>"):
        readers.read_trec_sgml(p)


# ----------------------------------------------------------------------------------- converter


@needs_data
@pytest.mark.parametrize(
    "kind, source, rows",
    [
        ("collection", DL19_REL / "collection.dl19-rel.tsv", 4103),
        ("queries", DL19 / "topics.dl19-passage.txt", 43),
        ("qrels", DL19 / "qrels.dl19-passage.txt", 9260),
        ("run", SUB105 / "run.dev.small.tsv", 105_000),
    ],
)
def test_convert_real_files(tmp_path, kind, source, rows):
    out = tmp_path / "sub" / f"{kind}.parquet"
    assert convert_cli.main([kind, str(source), str(out)]) == 0
    kind_ = convert.KINDS[kind]
    assert pq.read_schema(out).equals(contracts.schema(kind_), check_metadata=False)
    table = contracts.read(out, kind_)
    assert len(table) == rows
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary left behind


def test_convert_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    src = _write(tmp_path / "q.txt", "1 0 a 1\n1 0 b one\n")
    out = tmp_path / "out" / "q.parquet"
    with pytest.raises(SystemExit) as exit_:
        convert_cli.main(["qrels", str(src), str(out)])
    assert exit_.value.code == 2
    assert f"{src}:2: relevance 'one' is not an integer" in capsys.readouterr().err
    assert not out.exists()
    # a duplicate doc id in a later chunk of a streamed collection
    src = _write(tmp_path / "c.tsv", "1\ta\n2\tb\n3\tc\n1\td\n")
    with _raises_at(src, 4, "duplicate doc_id '1'"):
        convert.convert("collection", src, tmp_path / "c.parquet", chunk_rows=2)
    assert not (tmp_path / "c.parquet").exists()
    assert sorted(f.name for f in tmp_path.rglob("*") if f.is_file()) == ["c.tsv", "q.txt"]
