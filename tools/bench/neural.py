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

from dualrank.text import cache as tokens
from dualrank.losses import build_loss
from tools.bench.flops import sync


def autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


def adamw(model, lr: float = 2.8e-5, weight_decay: float = 0.01, fused: bool = True):
    """The Trainer's optimizer (Appendix B): AdamW, no decay on biases and LayerNorm weights;
    fused, as in dualrank's Trainer and as the Hugging Face (and sentence-transformers) trainer's
    default ``adamw_torch_fused`` since torch 2.8."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, fused=fused)


def clock(fn, device, *args) -> np.ndarray:
    """(wall, CPU) seconds of fn(*args). CPU time (this process, all threads) is reported beside
    the wall time: on a shared machine it is the steadier of the two."""
    sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    sync(device)
    return np.array([time.perf_counter() - t0, time.process_time() - c0])


def interleaved_steps(steps: dict, n: int, device) -> dict[str, np.ndarray]:
    """Mean (wall, CPU) seconds per step of each side over steps 1..n-1, step 0 being a
    warm-up; the sides take turns at every step."""
    total = {name: np.zeros(2) for name in steps}
    for i in range(n):
        for name, step in steps.items():
            t = clock(step, device, i)
            total[name] += t if i else 0.0
    return {name: t / (n - 1) for name, t in total.items()}


def interleaved_passes(passes: dict, repeats: int, device) -> dict[str, np.ndarray]:
    """Fastest (wall, CPU) seconds of ``repeats`` passes of each side, alternating, after each
    side's warm-up: ``passes[name]`` is (warm_up, run)."""
    for warm, _ in passes.values():
        warm()
    best = {name: np.full(2, np.inf) for name in passes}
    for _ in range(repeats):
        for name, (_, run) in passes.items():
            best[name] = np.minimum(best[name], clock(run, device))
    return best


def our_training_inputs(model, batches, corpus, queries):
    """What the Trainer hands score_groups: the groups as rows of the token cache
    (Trainer._load_texts), so a step tokenises nothing."""
    tq, td = (tokens.for_model(p, kind, model) for p, kind in ((queries, "queries"), (corpus, "corpus")))
    out = []
    for b in batches:
        q, d = tq.rows(b.query_ids), td.rows(b.doc_ids)
        out.append(([q[i] for i in range(len(q))], [d[i] for i in range(len(d))]))
    return out


def train_ours(model, batches, device, bf16: bool, corpus, queries):
    """The Trainer's step on batch i, as a function of i (returning the step's loss)."""
    model.to(device).train()
    loss_fn, opt = build_loss("margin_mse"), adamw(model)
    inputs = our_training_inputs(model, batches, corpus, queries)
    extra = [tuple(torch.as_tensor(a, device=device) for a in (b.teacher, b.labels)) for b in batches]

    def step(i):
        q, d = inputs[i]
        teacher, labels = extra[i]
        with autocast(device, bf16):
            scores = model.score_groups(q, d)
        loss = loss_fn(scores.float(), teacher, labels, labels >= 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def train_st(st, batches, device, bf16: bool):
    """sentence-transformers' training step on batch i (collate, MarginMSELoss, AdamW)."""
    from sentence_transformers.sentence_transformer import SentenceTransformerDataCollator
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss

    st.to(device).train()
    loss_fn, opt = MarginMSELoss(st), adamw(st)
    collate = SentenceTransformerDataCollator(preprocess_fn=st.preprocess)
    rows = []
    for b in batches:
        q, d, t, k = b.queries, b.docs, b.teacher, len(b.docs[0])
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


def our_corpus_encoding(model, corpus, batch_size: int) -> torch.Tensor:
    """What the index stage does: the corpus's cached token ids in length-sorted batches."""
    from dualrank.retrieval.index import encode_corpus

    return encode_corpus(model, corpus, batch_size)[0]


def encode_ours(model, corpus, n: int, batch_size, device, bf16: bool):
    """(warm-up, pass): the warm-up builds the corpus's token cache (once per corpus and
    tokenizer, shared by all jobs) and encodes a batch; each pass loads the cache and encodes."""
    model.to(device).eval()

    def warm():
        table = tokens.for_model(corpus, "corpus", model)
        with torch.inference_mode(), autocast(device, bf16):
            model.encode_docs([table.row(i) for i in range(min(batch_size, n))])

    def run():
        with autocast(device, bf16):
            emb = our_corpus_encoding(model, corpus, batch_size)
        assert emb.shape[0] == n

    return warm, run


def encode_st(st, passages, batch_size, device, bf16: bool):
    st.to(device).eval()

    def run(texts=passages):
        with autocast(device, bf16):
            emb = st.encode(texts, batch_size=batch_size, convert_to_tensor=True)
        assert emb.shape[0] == len(texts)

    return lambda: run(passages[:batch_size]), run


def ca_candidates(n_queries: int, depth: int, n_passages: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    qids = np.repeat([f"q{i}" for i in range(n_queries)], depth)
    dids = [f"d{j}" for q in range(n_queries) for j in rng.choice(n_passages, depth, replace=False)]
    return pd.DataFrame({"query_id": qids, "doc_id": dids})


def our_scoring_inputs(model, cands, corpus, queries):
    """What the evaluate stage passes score_candidates: id -> cached token ids."""
    return (tokens.for_model(queries, "queries", model, set(cands["query_id"])),
            tokens.for_model(corpus, "corpus", model, set(cands["doc_id"])))


def score_ours(model, cands, corpus, queries, batch_size, device, bf16: bool):
    """(warm-up, pass): token caches built in the warm-up; each pass looks the pairs up in them
    (as the evaluate stage does) and scores them."""
    from dualrank.retrieval.rerank import score_candidates

    model.to(device).eval()

    def run(c=cands):
        q, d = our_scoring_inputs(model, c, corpus, queries)
        with autocast(device, bf16):
            out = score_candidates(model, c, q, d, batch_size)
        assert len(out) == len(c)

    return lambda: run(cands.head(batch_size)), run


def score_st(ce, cands, queries, docs, batch_size, device, bf16: bool):
    pairs = [(queries[q], docs[d]) for q, d in zip(cands["query_id"], cands["doc_id"])]

    def run(p=pairs):
        with autocast(device, bf16):
            scores = ce.predict(p, batch_size=batch_size)
        assert len(scores) == len(p)

    return lambda: run(pairs[:batch_size]), run
