"""The demo's stand-in for BERT's pre-training: inverse-cloze pre-training on the corpus.

The paper's CA and DE start from pre-trained BERTs; the demo's ``init`` encoders start from
random weights, and at demo scale (a few hundred steps) a random BERT's [CLS] state never comes
to carry a passage's content: the DE's embeddings collapse and full-corpus retrieval stays at
chance (docs/demo-findings.md). An encoder spec's ``pretrain`` (dualrank.spec.PretrainSpec) runs
this once per (dataset, encoder) before any training, its cost paid once as BERT's is:

* ``ict_steps`` of the inverse cloze task (Lee et al. 2019, ORQA): a sentence of a passage is a
  pseudo-query, the rest of the passage its positive (the whole passage with probability
  ``keep_rate``), the batch's other passages its negatives; scores are the dot product of the
  layer-normed [CLS] states, each centred on its batch's mean first, divided by ``temperature``.
  It trains the DE's score. Centring matters: a random BERT's [CLS] states share one direction
  that carries no content, and without it the task sits at chance for about a thousand steps at
  demo scale (docs/demo-findings.md has the measurements).
* then ``pair_steps`` of the same task as a cross-encoder: [CLS] of (sentence, passage) through a
  linear head, softmax over the positive and ``pair_negatives`` passages of the batch (of
  ``pair_batch_size`` pseudo-queries). It trains the CA's reading of a pair; the demo gives it
  to the teacher's encoder alone (bert-base over the 6-layer DE in the paper: the teacher's
  start is the stronger one).

Pseudo-queries are sentences that occur once in the corpus: a sentence repeated verbatim in
other passages (boilerplate) names no passage. The heads are discarded; the saved backbone is a
Hugging Face ``BertModel`` directory that :func:`dualrank.models.build_model` starts from.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dualrank.data.io import InputError
from dualrank.spec import PretrainSpec
from dualrank.training import checkpoint
from dualrank.training.distributed import Context

log = logging.getLogger(__name__)

SENTENCE = re.compile(r"(?<=[.!?])\s+")


class InverseCloze:
    """Samples (pseudo-query, positive passage) pairs from a corpus's texts."""

    def __init__(self, texts: list[str], keep_rate: float, seed: int):
        self.sentences = [SENTENCE.split(t.strip()) for t in texts]
        count = Counter(s for ss in self.sentences for s in ss)
        # Per passage, the indices of its sentences that name it (all of them if none does).
        self.usable = [[i for i, s in enumerate(ss) if count[s] == 1] or list(range(len(ss)))
                       for ss in self.sentences]
        self.keep_rate = keep_rate
        self.rng = random.Random(seed)

    def batch(self, size: int) -> tuple[list[str], list[str]]:
        queries, positives = [], []
        for p in self.rng.sample(range(len(self.sentences)), size):
            ss = self.sentences[p]
            j = self.rng.choice(self.usable[p])
            rest = ss if len(ss) == 1 or self.rng.random() < self.keep_rate else ss[:j] + ss[j + 1:]
            queries.append(ss[j])
            positives.append(" ".join(rest))
        return queries, positives


class Checkpoints:
    """The job's state every ``every`` steps in ``directory/last.pt`` (dualrank.training.checkpoint's
    atomic file; one of another spec is moved aside), so that a killed job resumes bit for bit."""

    def __init__(self, directory: str | None, every: int, key: dict):
        self.directory, self.every, self.key = directory, every, key

    def load(self) -> dict | None:
        return checkpoint.load_matching(self.directory, self.key, Context()) if self.directory else None

    def due(self, step: int, steps: int) -> bool:
        return bool(self.directory and self.every) and step % self.every == 0 and step < steps

    def save(self, state: dict) -> None:
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        checkpoint.save(self.directory, {"spec_hash": checkpoint.spec_hash(self.key), **state})

    def remove(self) -> None:
        if self.directory:
            checkpoint.remove(self.directory)


def _schedule(opt, warmup: int, steps: int):
    # Linear warm-up, then a linear decay to 0 at the last step.
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, warmup))
                                             * max(0.0, 1 - s / steps))


def _loop(name: str, steps: int, params, loss_fn, spec: PretrainSpec, log_every: int, rows: list[dict],
          save, resume: dict | None) -> None:
    """``steps`` AdamW steps of ``loss_fn() -> (loss, accuracy)``, from ``resume``'s step if it
    is this task's; appends the logged averages to ``rows``; after each step, ``save`` (which
    writes a checkpoint when one is due)."""
    opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    sched = _schedule(opt, spec.warmup_steps, steps)
    start, total, correct = 1, 0.0, 0.0
    if resume is not None and resume["task"] == name:
        opt.load_state_dict(resume["opt"])
        sched.load_state_dict(resume["sched"])
        start, (total, correct) = resume["step"] + 1, resume["pending"]
        log.info("%s: resumed at step %d of %d", name, resume["step"], steps)
    t0 = time.monotonic()
    for step in range(start, steps + 1):
        loss, acc = loss_fn()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        total, correct = total + loss.item(), correct + acc
        if step % log_every == 0 or step == steps:
            n = step % log_every or log_every
            rate = (step - start + 1) / (time.monotonic() - t0)
            rows.append({"task": name, "step": step, "loss": total / n, "accuracy": correct / n})
            log.info("%s step %d/%d: loss %.3f, in-batch accuracy %.3f, %.1f steps/s, %.0f s left",
                     name, step, steps, total / n, correct / n, rate, (steps - step) / rate)
            total, correct = 0.0, 0.0
        save(name, step, steps, opt, sched, (total, correct))


def pretrain(backbone, tokenizer, texts: list[str], spec: PretrainSpec, query_length: int,
             passage_length: int, log_every: int = 100, checkpoints: Checkpoints | None = None) -> list[dict]:
    """Pre-train ``backbone`` (a BertModel) in place on ``texts``; the per-``log_every`` loss
    and in-batch accuracy of each task (chance: ln B and 1/B for ICT, ln K and 1/K for pairs).
    With ``checkpoints``, resume from its last state (the caller removes it once the backbone is
    saved)."""
    largest = max(spec.batch_size if spec.ict_steps else 0, spec.pair_batch if spec.pair_steps else 0)
    if largest > len(texts):
        raise InputError(f"encoder.pretrain: a batch of {largest} passages needs a corpus that large; "
                         f"this one has {len(texts)}")
    torch.manual_seed(spec.seed)
    data = InverseCloze(texts, spec.keep_rate, spec.seed)
    hidden = backbone.config.hidden_size
    backbone.train()

    def encode(batch: list[str], length: int):
        enc = tokenizer(batch, truncation=True, max_length=length, padding=True, return_tensors="pt")
        return backbone(**enc).last_hidden_state[:, 0]

    norm = nn.LayerNorm(hidden)

    def ict():
        q, p = data.batch(spec.batch_size)
        q, p = encode(q, query_length), encode(p, passage_length)
        # Centred on the batch (see the module's docstring).
        scores = norm(q - q.mean(0)) @ norm(p - p.mean(0)).T / spec.temperature
        target = torch.arange(len(q))
        return F.cross_entropy(scores, target), (scores.argmax(1) == target).float().mean().item()

    head = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 1))
    k = spec.pair_negatives + 1

    def pairs():
        q, p = data.batch(spec.pair_batch)
        firsts, seconds = [], []
        for i in range(len(q)):
            others = data.rng.sample([j for j in range(len(q)) if j != i], spec.pair_negatives)
            firsts += [q[i]] * k
            seconds += [p[j] for j in [i, *others]]
        enc = tokenizer(firsts, seconds, truncation="only_second", max_length=query_length + passage_length,
                        padding=True, return_tensors="pt")
        scores = head(backbone(**enc).last_hidden_state[:, 0]).view(len(q), k)
        target = torch.zeros(len(q), dtype=torch.long)
        return F.cross_entropy(scores, target), (scores.argmax(1) == 0).float().mean().item()

    modules = {"backbone": backbone, "norm": norm, "head": head}
    rows: list[dict] = []

    def save(task, step, steps, opt, sched, pending):
        if checkpoints is not None and checkpoints.due(step, steps):
            version, internal, gauss = data.rng.getstate()
            checkpoints.save({"task": task, "step": step, "rows": rows, "pending": list(pending),
                              "modules": {n: m.state_dict() for n, m in modules.items()},
                              "opt": opt.state_dict(), "sched": sched.state_dict(), "torch_rng": torch.get_rng_state(),
                              "data_rng": {"version": version, "internal": list(internal), "gauss": gauss}})

    resume = checkpoints.load() if checkpoints is not None else None
    if resume is not None:
        for n, m in modules.items():
            m.load_state_dict(resume["modules"][n])
        r = resume["data_rng"]
        data.rng.setstate((r["version"], tuple(r["internal"]), r["gauss"]))
        torch.set_rng_state(resume["torch_rng"])
        rows += resume["rows"]
    if spec.ict_steps and not (resume and resume["task"] == "pairs"):
        log.info("inverse cloze: %d steps of %d pairs, in-batch negatives (chance: loss %.2f)",
                 spec.ict_steps, spec.batch_size, math.log(spec.batch_size))
        _loop("ict", spec.ict_steps, [*backbone.parameters(), *norm.parameters()], ict, spec, log_every, rows,
              save, resume)
    if spec.pair_steps:
        log.info("pair inverse cloze: %d steps of %d queries x %d passages (chance: loss %.2f)",
                 spec.pair_steps, spec.pair_batch, k, math.log(k))
        _loop("pairs", spec.pair_steps, [*backbone.parameters(), *head.parameters()], pairs, spec, log_every,
              rows, save, resume)
    backbone.eval()
    return rows
