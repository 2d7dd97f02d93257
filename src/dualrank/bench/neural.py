"""Training, encoding and CA scoring throughput: dualrank against sentence-transformers.

Both sides run the same BERT (same weights, vocabulary, lengths, batch, optimizer and
precision) on the same texts in this process with the same torch threads. The two sides are
interleaved (training: step by step on the same batches; encoding and scoring: whole passes,
alternately, the fastest pass of each counted) after a warm-up, so that load from other
processes on a shared machine falls on both alike.

Training (DE distillation, K passages per query): ours is the Trainer's step (score_groups,
the margin MSE loss, backward, AdamW); the baseline is sentence-transformers' own training
step: its data collator tokenises each column of the batch (query, passage_1..passage_K) and
its MarginMSELoss embeds them and regresses the K-1 teacher margins, then backward and AdamW.
That is SentenceTransformerTrainer's work per step without its bookkeeping (logging,
callbacks, the DataLoader), so the baseline is, if anything, flattered.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np
import pandas as pd
import torch

from ..losses import build_loss
from .flops import sync


def autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


def adamw(model, lr: float = 2.8e-5, weight_decay: float = 0.01):
    """The Trainer's optimizer (Appendix B): AdamW, no decay on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def clock(fn, device, *args) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn(*args)
    sync(device)
    return time.perf_counter() - t0


def interleaved_steps(steps: dict, n: int, device) -> dict[str, float]:
    """Mean seconds per step of each side over steps 1..n-1, step 0 being a warm-up; the sides
    take turns at every step."""
    total = dict.fromkeys(steps, 0.0)
    for i in range(n):
        for name, step in steps.items():
            t = clock(step, device, i)
            total[name] += t if i else 0.0
    return {name: t / (n - 1) for name, t in total.items()}


def interleaved_passes(passes: dict, repeats: int, device) -> dict[str, float]:
    """Fastest of ``repeats`` timed passes of each side, after a warm-up pass; sides alternate."""
    best = dict.fromkeys(passes, float("inf"))
    for r in range(repeats + 1):
        for name, fn in passes.items():
            t = clock(fn, device)
            best[name] = min(best[name], t) if r else best[name]
    return best


def our_training_inputs(model, batches):
    """What the Trainer hands score_groups: the groups' texts (swapped in once, at start-up)."""
    return [(q, d) for q, d, _, _ in batches]


def train_ours(model, batches, device, bf16: bool):
    """The Trainer's step on batch i, as a function of i."""
    model.to(device).train()
    loss_fn, opt = build_loss("margin_mse"), adamw(model)
    inputs = our_training_inputs(model, batches)
    extra = [tuple(torch.as_tensor(a, device=device) for a in (t, y)) for _, _, t, y in batches]

    def step(i):
        q, d = inputs[i]
        teacher, labels = extra[i]
        with autocast(device, bf16):
            scores = model.score_groups(q, d)
        loss = loss_fn(scores.float(), teacher, labels, labels >= 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def train_st(st, batches, device, bf16: bool):
    """sentence-transformers' training step on batch i (collate, MarginMSELoss, AdamW)."""
    from sentence_transformers.sentence_transformer import SentenceTransformerDataCollator
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss

    st.to(device).train()
    loss_fn, opt = MarginMSELoss(st), adamw(st)
    collate = SentenceTransformerDataCollator(preprocess_fn=st.preprocess)
    rows = []
    for q, d, t, _ in batches:
        k = len(d[0])
        rows.append([{"query": q[i], **{f"passage_{j}": d[i][j] for j in range(k)},
                      "label": torch.as_tensor(t[i, 0] - t[i, 1:])} for i in range(len(q))])

    def step(i):
        batch = collate(rows[i])  # tokenises every column, as the trainer's DataLoader does
        labels = batch.pop("label").to(device)
        cols = [c[: -len("_input_ids")] for c in batch if c.endswith("_input_ids")]
        feats = [{k[len(c) + 1:]: v.to(device) if torch.is_tensor(v) else v
                  for k, v in batch.items() if k.startswith(c + "_")} for c in cols]
        with autocast(device, bf16):
            loss = loss_fn(feats, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def our_corpus_encoding(model, passages: list[str], batch_size: int) -> torch.Tensor:
    """What the index stage does: length-sorted batches through encode_docs."""
    from ..rerank import encode

    return encode(model.encode_docs, passages, batch_size, "passages")


def encode_ours(model, passages, batch_size, device, bf16: bool):
    model.to(device).eval()

    def run():
        with autocast(device, bf16):
            emb = our_corpus_encoding(model, passages, batch_size)
        assert emb.shape[0] == len(passages)

    return run


def encode_st(st, passages, batch_size, device, bf16: bool):
    st.to(device).eval()

    def run():
        with autocast(device, bf16):
            emb = st.encode(passages, batch_size=batch_size, convert_to_tensor=True)
        assert emb.shape[0] == len(passages)

    return run


def ca_candidates(n_queries: int, depth: int, n_passages: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    qids = np.repeat([f"q{i}" for i in range(n_queries)], depth)
    dids = [f"d{j}" for q in range(n_queries) for j in rng.choice(n_passages, depth, replace=False)]
    return pd.DataFrame({"query_id": qids, "doc_id": dids})


def our_scoring_inputs(model, queries: dict, docs: dict):
    """What the evaluate stage passes score_candidates: id -> text."""
    return queries, docs


def score_ours(model, cands, queries, docs, batch_size, device, bf16: bool):
    from ..rerank import score_candidates

    model.to(device).eval()
    q, d = our_scoring_inputs(model, queries, docs)

    def run():
        with autocast(device, bf16):
            out = score_candidates(model, cands, q, d, batch_size)
        assert len(out) == len(cands)

    return run


def score_st(ce, cands, queries, docs, batch_size, device, bf16: bool):
    pairs = [(queries[q], docs[d]) for q, d in zip(cands["query_id"], cands["doc_id"])]

    def run():
        with autocast(device, bf16):
            scores = ce.predict(pairs, batch_size=batch_size)
        assert len(scores) == len(pairs)

    return run
