"""The packed (unpadded) [CLS] path computes what Hugging Face's padded BertModel computes:
same values and same gradients, for single sequences and CA pairs, across attention chunks;
and the CA's pair budget is Hugging Face's longest-first truncation of the pair."""

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dualrank.models import CrossEncoder
from dualrank.models.packed import chunking, cls_states, pack

CLS, SEP, PAD = 2, 3, 0


def bert(dropout=0.0):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=dropout,
                     attention_probs_dropout_prob=dropout)
    return BertModel(cfg, add_pooling_layer=False)


def sequences(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(5, 50, rng.integers(1, 20)) for _ in range(n)]


def hf_padded(first, second=None):
    """The padded input a Hugging Face tokenizer would produce: [CLS] a [SEP] (b [SEP])."""
    rows = []
    for i, a in enumerate(first):
        ids, types = [CLS, *a, SEP], [0] * (len(a) + 2)
        if second is not None:
            ids += [*second[i], SEP]
            types += [1] * (len(second[i]) + 1)
        rows.append((ids, types))
    length = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [PAD] * (length - len(r[0])) for r in rows])
    types = torch.tensor([r[1] + [0] * (length - len(r[1])) for r in rows])
    mask = torch.tensor([[1] * len(r[0]) + [0] * (length - len(r[0])) for r in rows])
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


@pytest.mark.parametrize("chunk_tokens", [16384, 40])  # one attention chunk, or several
def test_cls_matches_padded_bert(chunk_tokens):
    m = bert().eval()
    seqs = sequences()
    with torch.no_grad():
        ref = m(**hf_padded(seqs)).last_hidden_state[:, 0]
        got = cls_states(m, pack(seqs, CLS, SEP, torch.device("cpu"), chunk_tokens=chunk_tokens))
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_pairs_match_padded_bert_with_token_types():
    m = bert().eval()
    a, b = sequences(6, 1), sequences(6, 2)
    with torch.no_grad():
        ref = m(**hf_padded(a, b)).last_hidden_state[:, 0]
        got = cls_states(m, pack(a, CLS, SEP, torch.device("cpu"), second=b, chunk_tokens=50))
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_gradients_match_padded_bert():
    seqs, w = sequences(5, 3), torch.randn(32)
    grads = []
    for packed in (False, True):
        m = bert().train()  # dropout 0: training mode, deterministic
        out = cls_states(m, pack(seqs, CLS, SEP, torch.device("cpu"), chunk_tokens=30)) if packed else \
            m(**hf_padded(seqs)).last_hidden_state[:, 0]
        (out @ w).square().sum().backward()
        grads.append({n: p.grad for n, p in m.named_parameters() if p.grad is not None})
    hf, ours = grads
    used = [n for n in hf if "token_type_embeddings" not in n or hf[n].abs().sum() > 0]
    assert set(used) <= set(ours)
    for n in used:
        torch.testing.assert_close(ours[n], hf[n], atol=1e-5, rtol=1e-4, msg=n)


def test_ca_pair_budget_is_longest_first_truncation(tmp_path):
    words = "[PAD] [UNK] [CLS] [SEP] [MASK] a b c d e f g h".split()
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    m = bert()
    ca = CrossEncoder(m, tok, query_length=4, passage_length=6).eval()
    q, d = "a b c d e f g", "h g f e d c b a h g f e d c b a"  # both longer than their lengths
    q_short = "a b"
    for query in (q, q_short):
        q_ids = ca.token_ids([query], ca.query_length)[0]
        d_ids = ca.token_ids([d], ca.doc_token_length)[0][: ca.query_length + ca.passage_length - len(q_ids)]
        ours = [CLS, *q_ids, SEP, *d_ids, SEP]
        # Hugging Face: the query cut to 4 ids, then the pair to 4 + 6 + 3 tokens, longest first.
        q_text = tok.decode(tok(query, add_special_tokens=False)["input_ids"][:4])
        ref = tok(q_text, d, truncation=True, max_length=13)["input_ids"]
        assert ours == ref
    # A short query leaves its unused budget to the passage: 2 + 8 ids.
    assert len(ours) == 2 + 8 + 3


def test_chunks_close_before_a_quarter_is_padding():
    # 200 + 190 fill 400 slots 97 %; + 100 would fill 490 of 600 (82 %, ok) and + 95 585 of 800 (73 %, no).
    assert chunking(np.array([200, 190, 100, 95, 10]), 10**6, 0.25) == [(0, 3), (3, 1), (4, 1)]
    # The slot cap: 2 x 200 > 300 slots.
    assert chunking(np.array([200, 200]), 300, 0.25) == [(0, 1), (1, 1)]
