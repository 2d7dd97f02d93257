"""The three scorers compute what the paper says they compute."""

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dualrank.models import ColBERT, CrossEncoder, DualEncoder, load_model


def tokenizer(tmp_path):
    words = "[PAD] [UNK] [CLS] [SEP] [MASK] who founded tessel mills in vale the city".split()
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    return BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))


def backbone(tok):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    return BertModel(cfg, add_pooling_layer=False)


Q = ["who founded tessel mills", "vale city"]
D = [["tessel mills in vale", "the city"], ["vale the city", "who founded"]]


def test_dual_encoder_is_a_dot_product_of_cls_embeddings(tmp_path):
    tok = tokenizer(tmp_path)
    m = DualEncoder(backbone(tok), tok, query_length=8, passage_length=8).eval()
    with torch.no_grad():
        s = m.score_groups(Q, D)
        q = m.encode_queries(Q)
        d = m.encode_docs([x for g in D for x in g]).view(2, 2, -1)
        cls = m.head(m.backbone(**m.tokenize(Q, 8)).last_hidden_state[:, 0])
    assert torch.allclose(s, torch.einsum("bh,bkh->bk", q, d), atol=1e-6)
    assert torch.allclose(q, cls, atol=1e-6)
    # LayerNorm on the output: each embedding has zero mean and unit variance.
    assert torch.allclose(q.mean(-1), torch.zeros(2), atol=1e-5)


def test_colbert_is_mean_over_query_tokens_of_max_similarity(tmp_path):
    tok = tokenizer(tmp_path)
    m = ColBERT(backbone(tok), tok, query_length=8, passage_length=8).eval()
    with torch.no_grad():
        s = m.score_pairs([Q[0]], [D[0][0]])
        q, qm = m._tokens([Q[0]], 8)
        d, dm = m._tokens([D[0][0]], 8)
    q, d = q[0][qm[0]], d[0][dm[0]]
    expected = torch.stack([max(float(qi @ dj) for dj in d) * torch.ones(()) for qi in q]).mean()
    assert torch.allclose(s[0], expected, atol=1e-5)


def test_cross_encoder_scores_pairs_and_round_trips(tmp_path):
    tok = tokenizer(tmp_path)
    m = CrossEncoder(backbone(tok), tok, query_length=8, passage_length=8).eval()
    with torch.no_grad():
        s = m.score_groups(Q, D)
        flat = m.score_pairs([Q[0], Q[0], Q[1], Q[1]], [x for g in D for x in g])
    assert s.shape == (2, 2) and torch.allclose(s.flatten(), flat, atol=1e-6)
    m.save(tmp_path / "ca")
    again = load_model(tmp_path / "ca")
    with torch.no_grad():
        assert torch.allclose(again.score_groups(Q, D), s, atol=1e-6)
