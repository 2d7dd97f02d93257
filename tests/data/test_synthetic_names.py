"""The synthetic generator's ``distinct_names`` option, shown on generated data.

With it, every entity has a name word of its own, which the WordPiece vocabulary trained on the
corpus (as the demo's ``tokenizer`` rule trains it) keeps as one piece; without it, name words
are shared, and most entities have none of their own. Checked at the sizes and vocabulary size
of the overlay preset that uses the option (workflow/presets/demo-findings.yaml).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from dualrank.data import synthetic
from dualrank.data.io import InputError

PRESET = Path(__file__).parents[2] / "workflow" / "presets" / "demo-findings.yaml"


def _preset() -> tuple[dict, int]:
    cfg = yaml.safe_load(PRESET.read_text())
    return cfg["datasets"]["msmarco"]["synthetic"]["sizes"], cfg["tokenizer"]["vocab_size"]


def _own_words(entities) -> dict[str, list[str]]:
    """Each entity name's words (lowercased, as queries write them) that no other name has."""
    count = Counter(w for e in entities for w in set(e.lower().split()))
    return {e: [w for w in e.lower().split() if count[w] == 1] for e in entities}


@pytest.fixture(scope="module")
def distinct():
    sizes, vocab_size = _preset()
    assert sizes["distinct_names"] == 1
    return synthetic.generate("msmarco", 0, with_meta=True, **sizes), vocab_size


def test_every_entity_has_a_word_of_its_own(distinct):
    tables, _ = distinct
    own = _own_words(tables["meta-passages"].entity.unique())
    assert all(own.values()), [e for e, w in own.items() if not w][:5]


def test_shared_names_by_default():
    sizes, _ = _preset()
    tables = synthetic.generate("msmarco", 0, with_meta=True,
                                **{k: v for k, v in sizes.items() if k != "distinct_names"})
    own = _own_words(tables["meta-passages"].entity.unique())
    assert sum(bool(w) for w in own.values()) < 0.5 * len(own)


def test_own_word_is_one_piece_in_queries_and_passages(distinct):
    from tokenizers import BertWordPieceTokenizer

    from dualrank.text.tokenizer import wordpiece_vocab

    tables, vocab_size = distinct
    # as the tokenizer rule trains it: the corpus and the training queries
    texts = tables["corpus"].text.tolist() + tables["queries-train"].text.tolist()
    tok = BertWordPieceTokenizer(wordpiece_vocab(texts, vocab_size), lowercase=True)
    own = _own_words(tables["meta-passages"].entity.unique())
    pieces = {e: tok.encode(w[0], add_special_tokens=False).tokens for e, w in own.items()}
    assert all(len(p) == 1 and p[0] != "[UNK]" for p in pieces.values()), \
        [(e, p) for e, p in pieces.items() if len(p) != 1][:5]
    # the piece appears in the query and in the passage stating the asked fact
    mq = tables["meta-queries"].set_index("query_id")
    mp = tables["meta-passages"]
    text_of = tables["corpus"].set_index("doc_id").text
    for split in ("train", "dev"):
        queries = tables[f"queries-{split}"].head(200)
        for qid, text in zip(queries.query_id, queries.text):
            e, a = mq.loc[qid, "entity"], mq.loc[qid, "attribute"]
            doc = mp.doc_id[(mp.entity == e) & (mp.attribute == a) & (mp.role == "fact")].iloc[0]
            assert pieces[e][0] in tok.encode(text).tokens, (qid, text)
            assert pieces[e][0] in tok.encode(text_of[doc]).tokens, (qid, doc)


def test_bad_value_fails_clearly():
    with pytest.raises(InputError, match="distinct_names"):
        synthetic.generate("nq", 0, n_entities=60, n_train=150, n_valid=20, n_dev=30,
                           distinct_names=2)


def test_sparse_labels_leave_answers_unlabelled():
    """Measured with the generator's oracle (statement_regex): with sparse_labels, queries whose
    fact has an indirect passage have a passage stating the asked pair that no qrel marks; the
    graded dl19 judgements still mark it; without the option every answer is labelled."""
    small = {"n_entities": 60, "n_train": 150, "n_valid": 20, "n_dev": 30, "n_dl19": 10,
             "indirect_rate": 0.5}

    def unlabelled(tables, split):
        corpus, mq = tables["corpus"], tables["meta-queries"]
        qrels = tables[f"qrels-{split}"]
        level = 2 if split == "dl19" else 1  # dl19's grade 1: another fact of the family
        rel = qrels[qrels.relevance >= level].groupby("query_id").doc_id.apply(set)
        out = []
        for q, e, a in mq[mq.split == split][["query_id", "entity", "attribute"]].itertuples(
                index=False):
            answers = set(corpus.doc_id[corpus.text.str.contains(synthetic.statement_regex(a, e))])
            assert rel[q] <= answers  # every label is an answer
            out.append(len(answers - rel[q]))
        return out

    sparse = synthetic.generate("msmarco", 0, with_meta=True, sparse_labels=1, **small)
    full = synthetic.generate("msmarco", 0, with_meta=True, **small)
    assert sparse["corpus"].equals(full["corpus"])
    for split in ("train", "dev"):
        n = unlabelled(sparse, split)
        assert 0.3 < sum(x > 0 for x in n) / len(n) < 0.7, (split, n)  # about indirect_rate
        assert sum(unlabelled(full, split)) == 0
        assert (sparse[f"qrels-{split}"].groupby("query_id").size() == 1).all()
        assert sparse[f"queries-{split}"].equals(full[f"queries-{split}"])
    assert sum(unlabelled(sparse, "dl19")) == 0


def test_sparse_labels_do_not_follow_the_phrasing():
    """The labelled answer of a two-answer query is the indirect passage about half the time, so
    a passage's phrasing does not tell which answer carries the label (MS MARCO's annotators
    mark whichever answering passage they read)."""
    sizes = {"n_entities": 200, "n_train": 600, "n_valid": 20, "n_dev": 30, "n_dl19": 10,
             "indirect_rate": 0.5}
    sparse = synthetic.generate("msmarco", 0, with_meta=True, sparse_labels=1, **sizes)
    full = synthetic.generate("msmarco", 0, with_meta=True, **sizes)
    role = sparse["meta-passages"].set_index("doc_id").role
    two = full["qrels-train"].groupby("query_id").size().loc[lambda n: n == 2].index
    labelled = sparse["qrels-train"].set_index("query_id").doc_id.loc[two].map(role)
    assert len(two) > 100
    assert 0.4 < (labelled == "indirect").mean() < 0.6, labelled.value_counts()
