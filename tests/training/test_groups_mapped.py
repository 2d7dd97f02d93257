"""Groups as rows of the memory-mapped token tables (issue 16, item 2): the same groups as the
id path, converted in chunks, an unknown id named with its file; uniform negatives drawn as token
rows are the same passages, tokenised the same, as the text draw, and never read the corpus text."""

import numpy as np
import pandas as pd
import pytest
from transformers import BertTokenizerFast

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.text import cache as tokens
from dualrank.training import groups as groups_mod
from dualrank.training.groups import load_groups
from dualrank.training.negatives import ExtraNegatives

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] who founded tessel mills in vale the city river".split()


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("DUALRANK_TOKEN_CACHE", str(tmp_path / "cache"))
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(WORDS)})
    words = WORDS[5:]
    texts = [" ".join(words[(i + j) % len(words)] for j in range(1 + i % 4)) for i in range(30)]
    corpus, queries, groups = tmp_path / "corpus.parquet", tmp_path / "queries.parquet", tmp_path / "g.parquet"
    contracts.write(pd.DataFrame({"doc_id": [f"d{i}" for i in range(30)], "text": texts}), corpus, "corpus")
    contracts.write(pd.DataFrame({"query_id": ["q0", "q1", "q2"], "text": ["who founded", "vale city", "river"]}),
                    queries, "queries")
    # Ragged groups (padding), a query with two groups, documents in no particular order.
    g = pd.DataFrame({"query_id": ["q1", "q0", "q1", "q2"],
                      "doc_ids": [["d5", "d29", "d0"], ["d3", "d7"], ["d11", "d2", "d17"], ["d8"]],
                      "labels": [[1, 0, 0], [1, 0], [1, 0, 0], [1]],
                      "teacher_scores": [[2.0, 1.0, 0.5], [3.0, 0.0], [1.0, 0.5, 0.25], [4.0]]})
    contracts.write(g, groups, "groups")
    return tok, corpus, queries, groups, texts


def test_mapped_groups_are_the_rows_of_their_ids_converted_in_chunks(data, monkeypatch):
    tok, corpus, queries, groups, texts = data
    monkeypatch.setattr(groups_mod, "CHUNK_IDS", 2)  # several chunks of the 9 document ids
    docs, qs = tokens.load(corpus, "corpus", tok, 8), tokens.load(queries, "queries", tok, 8)
    g = load_groups(groups, True, docs, qs)
    by_hand = [[5, 29, 0], [3, 7, -1], [11, 2, 17], [8, -1, -1]]  # d<i> is row i; -1 pads
    assert g.doc_ids.positions.tolist() == by_hand and g.doc_ids.positions.dtype == np.int32
    assert g.query_ids.positions.tolist() == [1, 0, 1, 2]
    assert g.mask.tolist() == [[True] * 3, [True, True, False], [True] * 3, [True, False, False]]
    assert g.teacher[1].tolist() == [3.0, 0.0, 0.0] and g.labels[3].tolist() == [1, 0, 0]
    # The token ids a step reads: the tokenizer's own ids of the passage texts.
    assert list(g.doc_ids[0][1]) == tok(texts[29], add_special_tokens=False)["input_ids"][:8]
    assert len(g.doc_ids[3][1]) == 0  # padding: an empty sequence, masked out


def test_an_unknown_document_id_names_the_corpus(data):
    tok, corpus, queries, groups, _ = data
    g = contracts.read(groups, "groups")
    g.at[2, "doc_ids"] = ["d11", "d99", "d17"]
    contracts.write(g, groups, "groups")
    with pytest.raises(InputError, match=r"corpus\.parquet: 1 doc_id\(s\) .*'d99'"):
        load_groups(groups, True, tokens.load(corpus, "corpus", tok, 8), tokens.load(queries, "queries", tok, 8))


def test_bound_uniform_negatives_are_the_text_draws_tokenised_and_read_no_text(data):
    tok, corpus, _, _, texts = data
    docs = tokens.load(corpus, "corpus", tok, 8)
    by_text, by_rows = ExtraNegatives(False, 5, seed=4, corpus=corpus), ExtraNegatives(False, 5, seed=4, corpus=corpus)
    by_rows.bind(docs)
    for step in (0, 1, 17):
        drawn_texts = by_text.uniform_draw(step)
        assert len(set(drawn_texts)) == 5 and set(drawn_texts) <= set(texts)
        expected = [tok(t, add_special_tokens=False)["input_ids"][:8] for t in drawn_texts]
        assert [list(r) for r in by_rows.uniform_draw(step)] == expected
    assert by_rows.corpus_texts is None and by_text.corpus_texts is not None
