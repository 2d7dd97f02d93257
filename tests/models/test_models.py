"""The three scorers compute what the paper says they compute."""

import numpy as np
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dualrank.models import ColBERT, CrossEncoder, DualEncoder, load_model


def tokenizer(tmp_path):
    # transformers 5 ignores ``vocab_file=`` (every word became [UNK]): pass the vocabulary itself.
    words = "[PAD] [UNK] [CLS] [SEP] [MASK] who founded tessel mills in vale the city".split()
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    assert tok("tessel mills")["input_ids"] == [2, 7, 8, 3]
    return tok


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


# -- training-only input corruption and the MLM head (Table 9) ---------------------------------

PAD, UNK, CLS, SEP, MASK = range(5)


def test_token_dropout_masks_exactly_the_drawn_real_non_special_tokens():
    from dualrank.models.noise import token_dropout

    ids = torch.tensor([[CLS, 5, 6, 7, SEP, PAD], [CLS, 8, UNK, SEP, 9, SEP]])
    att = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    # Maskable by hand: real tokens that are no special token ([UNK] is one).
    maskable = torch.tensor([[0, 1, 1, 1, 0, 0], [0, 1, 0, 0, 1, 0]]).bool()
    u = torch.rand(ids.shape, generator=torch.Generator().manual_seed(7))
    out = token_dropout(ids, att, 0.5, [PAD, UNK, CLS, SEP, MASK], MASK, torch.Generator().manual_seed(7))
    assert torch.equal(out, torch.where(maskable & (u < 0.5), torch.tensor(MASK), ids))
    # The rate: over many tokens the dropped fraction is p, specials never touched.
    big = torch.randint(5, 100, (400, 250))
    big[:, 0], big[:, -1] = CLS, SEP
    out = token_dropout(big, torch.ones_like(big), 0.3, [PAD, UNK, CLS, SEP, MASK], MASK)
    assert abs((out[:, 1:-1] == MASK).float().mean().item() - 0.3) < 0.01
    assert (out[:, 0] == CLS).all() and (out[:, -1] == SEP).all()


def test_ranker_drops_tokens_in_training_mode_only(tmp_path):
    tok = tokenizer(tmp_path)
    m = DualEncoder(backbone(tok), tok, query_length=8, passage_length=8)
    m.token_dropout = 0.9
    torch.manual_seed(0)
    ids = m.token_ids(["who founded tessel mills in vale"] * 20, 6)  # what cls() and ColBERT get
    train_ids = np.stack(m.drop_tokens(ids))
    assert (train_ids == MASK).mean() > 0.75
    m.eval()
    assert not (np.stack(m.drop_tokens(ids)) == MASK).any()
    # The forward pass sees the dropped tokens: scores differ from eval mode's.
    with torch.no_grad():
        m.train()
        m.backbone.eval()  # no other dropout: only the token dropout tells the two apart
        m.head.eval()
        dropped = m.encode_queries(ids)
        m.eval()
        assert not torch.allclose(dropped, m.encode_queries(ids))
    m.save(tmp_path / "de")
    assert load_model(tmp_path / "de").token_dropout == 0.0  # a training setting, never saved


def test_mlm_mask_is_berts_15_percent_with_80_10_10():
    from dualrank.models.noise import IGNORE, mlm_mask

    ids = torch.randint(5, 1000, (500, 200))
    ids[:, 0], ids[:, -1] = CLS, SEP
    out, y = mlm_mask(ids, torch.ones_like(ids), 0.15, [PAD, UNK, CLS, SEP, MASK], MASK, 1000,
                      torch.Generator().manual_seed(1))
    sel = y != IGNORE
    n = sel.sum().item()
    assert abs(n / (500 * 198) - 0.15) < 0.005 and not sel[:, 0].any() and not sel[:, -1].any()
    assert torch.equal(y[sel], ids[sel]) and torch.equal(out[~sel], ids[~sel])
    masked = (out[sel] == MASK).float().mean().item()
    kept = (out[sel] == ids[sel]).float().mean().item()
    # 10% random tokens, of which 1/995 happen to be the original: kept = 0.1 + 0.1/995.
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1) < 0.01 and abs(1 - masked - kept - 0.1) < 0.01


def test_mlm_head_and_loss_are_bert_for_masked_lm(tmp_path):
    from transformers import BertForMaskedLM

    from dualrank.models import build_model
    from dualrank.models.mlm import MaskedLanguageModel
    from dualrank.models.noise import mlm_mask

    tok = tokenizer(tmp_path)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64)
    reference = BertForMaskedLM(cfg).eval()
    with torch.no_grad():  # a non-trivial pre-trained head: its bias must be loaded too
        reference.cls.predictions.bias.normal_()
    reference.save_pretrained(tmp_path / "bert")
    tok.save_pretrained(tmp_path / "bert")
    ranker = build_model("de", {"path": str(tmp_path / "bert")}, None, 8, 8).eval()
    mlm = MaskedLanguageModel(ranker, {"path": str(tmp_path / "bert")}, probability=0.5)
    texts = ["who founded tessel mills in vale", "the city"]
    torch.manual_seed(3)
    loss = mlm(ranker, [(texts, 8)])
    # The same masks, drawn again, fed to transformers' own MLM (tied decoder, its loss).
    enc = tok(texts, max_length=8, truncation=True, padding=True, return_tensors="pt")
    torch.manual_seed(3)
    ids, y = mlm_mask(enc["input_ids"], enc["attention_mask"], 0.5, tok.all_special_ids, MASK, len(tok))
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=enc["attention_mask"],
                             token_type_ids=enc["token_type_ids"], labels=y).loss
    assert torch.allclose(loss, expected, atol=1e-5)
    # Gradients reach the ranker's own word embeddings (the tied decoder), not a copy.
    loss.backward()
    assert ranker.backbone.get_input_embeddings().weight.grad.abs().sum() > 0
    assert not any(n.startswith("head.decoder") for n, _ in mlm.named_parameters())


def test_mlm_head_of_an_init_encoder_is_berts_initialisation(tmp_path):
    from dualrank.models.mlm import build_mlm_head

    tok = tokenizer(tmp_path)
    ranker = DualEncoder(backbone(tok), tok, query_length=8, passage_length=8)
    torch.manual_seed(0)
    head = build_mlm_head(ranker, {"init": {}})
    w = head.transform.dense.weight
    assert abs(w.std().item() - 0.02) < 0.004 and head.bias.abs().sum() == 0
    h = torch.randn(3, 16)
    emb = ranker.backbone.get_input_embeddings().weight
    assert torch.allclose(head(h, emb), head.transform(h) @ emb.T, atol=1e-6)
