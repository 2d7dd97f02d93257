"""In-batch and uniform negatives (Table 12): which documents each query gets as extra
negatives, their scores, labels and (absent) teacher scores, checked against hand-built
expectations; what each loss makes of them is tests/losses/test_extra_negatives.py."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.losses import build_loss
from dualrank.models import CrossEncoder, DualEncoder
from dualrank.training.negatives import ExtraNegatives

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] who founded tessel mills in vale the city river".split()
Q = ["who founded tessel mills", "vale city"]


def model(cls=DualEncoder):
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(WORDS)})
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    return cls(BertModel(cfg, add_pooling_layer=False), tok, query_length=8, passage_length=8).eval()


def pair(m, q, d) -> float:
    with torch.no_grad():
        return m.score_pairs([q], [d]).item()


def batch(docs, mask, teacher=None):
    labels = torch.tensor([[1.0] + [0.0] * (len(docs[0]) - 1)] * len(docs))
    return (None if teacher is None else torch.tensor(teacher), labels, torch.tensor(mask))


@pytest.mark.parametrize("cls", [DualEncoder, CrossEncoder])
def test_in_batch_negatives_are_the_other_groups_documents(cls):
    m = model(cls)
    docs = [["tessel mills", "the city"], ["the city", "vale river"]]
    teacher, labels, mask = batch(docs, [[True, True], [True, True]], [[3.0, 1.0], [2.0, 0.5]])
    with torch.no_grad():
        s, t, y, mk, scored = ExtraNegatives(True, 0, seed=0)(m, Q, docs, teacher, labels, mask, step=0)
    # D_obs = [tessel mills, the city, vale river]: each query's extras are D_obs minus its own.
    extra = ["tessel mills", "the city", "vale river"]
    assert mk.tolist() == [[True, True, False, False, True], [True, True, True, False, False]]
    assert y.tolist() == [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
    # Extras have no teacher score: teacher_mask False, a 0 that no loss reads.
    assert scored.tolist() == [[True, True, False, False, False]] * 2
    assert t.tolist() == [[3.0, 1.0, 0.0, 0.0, 0.0], [2.0, 0.5, 0.0, 0.0, 0.0]]
    expected = [[pair(m, q, d) for d in own + extra] for q, own in zip(Q, docs)]
    assert np.allclose(s.numpy(), expected, atol=1e-5)


def test_a_querys_other_triple_is_never_its_in_batch_negative():
    """Triplet data: a query's two triples in one batch are two rows; neither row's documents
    are in-batch negatives of the other (its other positive is a positive), another query's are."""
    m = model()
    q = [Q[0], Q[0], Q[1]]
    docs = [["tessel mills", "the city"], ["vale river", "the city"], ["river", "vale"]]
    teacher, labels, mask = batch(docs, [[True, True]] * 3, [[3.0, 1.0], [2.5, 1.0], [2.0, 0.5]])
    with torch.no_grad():
        s, _, _, mk, _ = ExtraNegatives(True, 0, seed=0)(m, q, docs, teacher, labels, mask, step=0)
    # D_obs = [tessel mills, the city, vale river, river, vale].
    assert mk[:, 2:].tolist() == [[False, False, False, True, True], [False, False, False, True, True],
                                  [True, True, True, False, False]]
    assert s.shape == (3, 7)


def test_padding_is_never_an_extra_and_one_hot_sees_the_extras():
    m = model()
    docs = [["tessel mills", "the city"], ["vale river", ""]]
    _, labels, mask = batch(docs, [[True, True], [True, False]])
    with torch.no_grad():
        s, _, y, mk, scored = ExtraNegatives(True, 0, seed=0)(m, Q, docs, None, labels, mask, step=0)
    # D_obs = [tessel mills, the city, vale river]; the padded "" is not a document.
    assert s.shape == (2, 5)
    assert mk.tolist() == [[True, True, False, False, True], [True, False, True, True, False]]
    loss = build_loss("one_hot")(s, None, y, mk, teacher_mask=scored)
    # By hand: -log softmax of the positive over each query's real slots, averaged over queries.
    by_hand = []
    for i, keep in enumerate(mk.tolist()):
        row = [float(s[i, j]) for j in range(5) if keep[j]]
        by_hand.append(-(row[0] - math.log(sum(math.exp(x) for x in row))))
    assert loss.item() == pytest.approx(sum(by_hand) / 2, abs=1e-5)


def test_softmax_ce_gives_the_extras_zero_teacher_probability():
    """End to end: the teacher's softmax runs over each query's own documents, the student's
    over its own and its extras (Table 12's "KL + negative mining")."""
    m = model()
    docs = [["tessel mills", "the city"], ["the city", "vale river"]]
    teacher, labels, mask = batch(docs, [[True, True], [True, True]], [[3.0, 1.0], [2.0, 0.5]])
    with torch.no_grad():
        s, t, y, mk, scored = ExtraNegatives(True, 0, seed=0)(m, Q, docs, teacher, labels, mask, step=0)
        loss = build_loss("softmax_ce")(s, t, y, mk, teacher_mask=scored)
    by_hand = []
    for i in range(2):
        own = teacher[i].tolist()
        p = [math.exp(x) / sum(math.exp(v) for v in own) for x in own]
        real = [float(s[i, j]) for j in range(5) if mk[i, j]]
        log_z = math.log(sum(math.exp(x) for x in real))
        by_hand.append(-sum(pj * (float(s[i, j]) - log_z) for j, pj in enumerate(p)))
    assert loss.item() == pytest.approx(sum(by_hand) / 2, abs=1e-5)


@pytest.fixture
def corpus(tmp_path):
    texts = ["tessel mills", "the city", "vale river"] + [f"river {i}" for i in range(47)]
    path = tmp_path / "corpus.parquet"
    contracts.write(pd.DataFrame({"doc_id": [f"d{i}" for i in range(50)], "text": texts}), path, "corpus")
    return path, texts


def test_uniform_draw_is_uniform_without_replacement_and_a_function_of_seed_and_step(corpus):
    path, texts = corpus
    neg = ExtraNegatives(False, 5, seed=4, corpus=path)
    draws = [neg.uniform_draw(step) for step in range(2000)]
    assert all(len(set(d)) == 5 and set(d) <= set(texts) for d in draws)
    assert neg.uniform_draw(17) == draws[17] and draws[17] != draws[18]
    assert ExtraNegatives(False, 5, seed=5, corpus=path).uniform_draw(17) != draws[17]
    # Each of the 50 passages is drawn with probability 5/50 per step: 200 of 2000 expected,
    # binomial sd ~13.4; every count within 5 sd.
    counts = pd.Series([x for d in draws for x in d]).value_counts()
    assert len(counts) == 50 and counts.between(200 - 67, 200 + 67).all()


def test_uniform_negatives_are_shared_except_by_the_query_that_owns_one(corpus, tmp_path):
    path, texts = corpus
    small = tmp_path / "small.parquet"
    contracts.write(pd.read_parquet(path).head(3), small, "corpus")  # the draw is the whole corpus
    m = model()
    docs = [["tessel mills", "vale river"], ["the city", "tessel mills"]]
    teacher, labels, mask = batch(docs, [[True, True], [True, True]], [[1.0, -2.0], [0.0, 4.0]])
    neg = ExtraNegatives(False, 3, seed=0, corpus=small)
    drawn = neg.uniform_draw(5)
    with torch.no_grad():
        s, t, _, mk, scored = neg(m, Q, docs, teacher, labels, mask, step=5)
    assert sorted(drawn) == sorted(texts[:3])
    assert mk[:, 2:].tolist() == [[d not in docs[0] for d in drawn], [d not in docs[1] for d in drawn]]
    assert t[:, 2:].tolist() == [[0.0] * 3] * 2 and not scored[:, 2:].any() and scored[:, :2].all()
    expected = [[pair(m, q, d) for d in own + drawn] for q, own in zip(Q, docs)]
    assert np.allclose(s.numpy(), expected, atol=1e-5)


def test_uniform_negatives_need_a_corpus(corpus):
    # The keys' types and ranges are dualrank.spec's (tests/test_spec.py).
    with pytest.raises(InputError, match="needs the corpus"):
        ExtraNegatives(False, 2, seed=0)
