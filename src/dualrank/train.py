"""Train a CA, DE or ColBERT ranker on training groups with one of the paper's losses.

    python -m dualrank.train --spec JSON --groups G.parquet --corpus C.parquet \
        --queries Q.parquet --valid-candidates V.parquet --valid-queries VQ.parquet \
        --valid-qrels VR.parquet [--tokenizer DIR] --checkpoint-dir DIR \
        --model-out DIR --curve-out curve.parquet --summary-out train.json

Appendix B: Adam with weight decay, batch 128, lr 2.8e-5, 300k steps, query/passage length
30/200, dropout 0.1 and layer norm on the output; early stopping on dev nDCG@10 (here a
``valid`` split, evaluated every ``eval_every`` steps; the best model is the output).
The learning curve (train and valid MRR@10 per evaluation, Figure 4) is written beside it.

Resumption: ``--checkpoint-dir`` lies outside Snakemake's outputs (which a failed job loses);
the last checkpoint is written atomically at every evaluation and on SIGTERM (SLURM
preemption), and a restarted job with the same spec continues from it bit for bit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import contracts, tokens
from .errors import InputError
from .groups import Groups, Sampler, load_groups
from .logs import entry_point
from .losses import build_loss
from .metrics import evaluate
from .models import Ranker, build_model
from .rerank import score_candidates

log = logging.getLogger("dualrank.train")

TRAINING_KEYS = {
    "lr", "weight_decay", "batch_size", "max_steps", "warmup_steps", "query_length",
    "passage_length", "dropout", "output_layer_norm", "eval_every", "patience",
    "valid_queries", "valid_depth", "train_eval_groups", "max_grad_norm", "eval_batch_size",
}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def spec_hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def train_mrr(model: Ranker, groups: Groups, idx: np.ndarray, batch_size: int) -> float:
    """MRR@10 of ranking each training group's own documents (the 'train MRR' of Table 2)."""
    rr = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(idx), batch_size):
            b = idx[i:i + batch_size]
            s = model.score_groups([groups.query_ids[j] for j in b], [groups.doc_ids[j] for j in b])
            s = s.float().cpu().numpy()
            for row, j in enumerate(b):
                sc = np.where(groups.mask[j], s[row], -np.inf)
                order = np.argsort(-sc, kind="stable")[:10]
                hits = np.nonzero(groups.labels[j][order] > 0)[0]
                rr.append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
    model.train()
    return float(np.mean(rr)) if rr else float("nan")


class Trainer:
    def __init__(self, spec: dict, args: argparse.Namespace):
        self.spec, self.args = spec, args
        t = spec["training"]
        unknown = set(t) - TRAINING_KEYS
        if unknown:
            raise InputError(f"training: unknown key(s) {sorted(unknown)}")
        self.t = t
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.loss_fn = build_loss(spec["loss"]["name"], **{k: v for k, v in spec["loss"].items() if k != "name"})
        self.groups = load_groups(args.groups, self.loss_fn.needs_teacher)
        seed_everything(spec["seed"])
        self.model = build_model(
            spec["arch"], spec["encoder"], args.tokenizer, t["query_length"], t["passage_length"],
            t["dropout"], t["output_layer_norm"],
        ).to(self.device)
        # Adam with decoupled weight decay; no decay on biases and LayerNorm weights.
        decay = [p for n, p in self.model.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.model.named_parameters() if p.ndim <= 1]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=t["lr"], fused=True,  # one kernel for all parameters (Hugging Face's default too)
        )
        warm = max(1, t.get("warmup_steps", 0))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: min(1.0, (s + 1) / warm))
        self.sampler = Sampler(len(self.groups), t["batch_size"], spec["seed"])
        self._load_texts()
        rng = np.random.default_rng(spec["seed"])
        n_eval = min(t.get("train_eval_groups", 500), len(self.groups))
        self.train_eval_idx = np.sort(rng.choice(len(self.groups), n_eval, replace=False))
        self.step, self.best, self.best_step, self.bad_evals, self.curve = 0, -1.0, 0, 0, []
        self.ckpt_dir = Path(args.checkpoint_dir)
        self.stop_requested = False

    def _load_texts(self) -> None:
        a = self.args
        vc = contracts.read(a.valid_candidates, "run")
        vq = contracts.read(a.valid_qrels, "qrels")
        keep = sorted(vq["query_id"].unique())[: self.t.get("valid_queries", 10**9)]
        vc = vc[vc["rank"] <= self.t.get("valid_depth", 10**9)]
        self.valid_cands = vc[vc["query_id"].isin(keep)]
        self.valid_qrels = vq[vq["query_id"].isin(keep)]
        # Token ids from the per-corpus cache (dualrank.tokens), tokenised once for every job;
        # the groups then index them by row, nothing is tokenised per step.
        m = self.model
        self.docs = tokens.load(a.corpus, "corpus", m.tokenizer, m.doc_token_length)
        self.queries = tokens.load(a.queries, "queries", m.tokenizer, m.query_token_length)
        self.valid_text = tokens.load(a.valid_queries, "queries", m.tokenizer, m.query_token_length)
        self.docs.positions(self.valid_cands["doc_id"])  # unknown ids fail here, naming the file
        self.valid_text.positions(self.valid_cands["query_id"])
        self.groups.query_ids = self.queries.rows(self.groups.query_ids)
        self.groups.doc_ids = self.docs.rows(self.groups.doc_ids, pad="")

    # -- checkpointing -------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "spec_hash": spec_hash(self.spec), "step": self.step, "best": self.best,
            "best_step": self.best_step, "bad_evals": self.bad_evals, "curve": self.curve,
            "model": self.model.state_dict(), "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(), "sampler": self.sampler.state(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        }
        fd, tmp = tempfile.mkstemp(dir=self.ckpt_dir, suffix=".tmp")
        os.close(fd)
        torch.save(state, tmp)
        os.replace(tmp, self.ckpt_dir / "last.pt")

    def try_resume(self) -> None:
        path = self.ckpt_dir / "last.pt"
        if not path.exists():
            return
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state["spec_hash"] != spec_hash(self.spec):
            log.warning("%s belongs to another configuration; starting afresh", path)
            shutil.rmtree(self.ckpt_dir)
            return
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.sampler.restore(state["sampler"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        for k in ("step", "best", "best_step", "bad_evals", "curve"):
            setattr(self, k, state[k])
        log.info("resumed from %s at step %d", path, self.step)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, loss: float) -> None:
        t = self.t
        run = score_candidates(self.model, self.valid_cands, self.valid_text, self.docs,
                               t.get("eval_batch_size", 256))
        agg, _ = evaluate(run, self.valid_qrels)
        per_batch = max(1, t.get("eval_batch_size", 256) // self.groups.k)
        tr = train_mrr(self.model, self.groups, self.train_eval_idx, per_batch)
        self.model.train()
        self.curve.append({"step": self.step, "loss": loss, "train_mrr@10": tr,
                           "valid_mrr@10": agg["mrr@10"], "valid_ndcg@10": agg["ndcg@10"]})
        improved = agg["ndcg@10"] > self.best
        if improved:
            self.best, self.best_step, self.bad_evals = agg["ndcg@10"], self.step, 0
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
            torch.save(self.model.state_dict(), self.ckpt_dir / "best.pt.tmp")
            os.replace(self.ckpt_dir / "best.pt.tmp", self.ckpt_dir / "best.pt")
        else:
            self.bad_evals += 1
        log.info("step %d: loss %.4f train MRR@10 %.3f valid MRR@10 %.3f nDCG@10 %.3f%s",
                 self.step, loss, tr, agg["mrr@10"], agg["ndcg@10"], " (best)" if improved else "")

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> dict:
        t = self.t
        self.try_resume()
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))
        self.model.train()
        g, t0, start_step, running = self.groups, time.time(), self.step, []
        if self.step == 0:
            self.evaluate(float("nan"))
            self.save_checkpoint()
        while self.step < t["max_steps"] and self.bad_evals < t["patience"]:
            idx = self.sampler.next()
            scores = self.model.score_groups([g.query_ids[i] for i in idx], [g.doc_ids[i] for i in idx])
            teacher, labels, mask = (
                None if a is None else torch.as_tensor(a[idx], device=self.device)
                for a in (g.teacher, g.labels, g.mask))
            loss = self.loss_fn(scores.float(), teacher, labels, mask)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if t.get("max_grad_norm"):
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), t["max_grad_norm"])
            self.opt.step()
            self.sched.step()
            self.step += 1
            running.append(loss.item())
            if self.step % t["eval_every"] == 0 or self.step == t["max_steps"]:
                rate = (self.step - start_step) / (time.time() - t0)
                log.info("step %d/%d, %.2f steps/s, %.1f groups/s", self.step, t["max_steps"], rate,
                         rate * t["batch_size"])
                self.evaluate(float(np.mean(running)))
                running = []
                self.save_checkpoint()
            if self.stop_requested:
                self.save_checkpoint()
                raise SystemExit(f"SIGTERM at step {self.step}: checkpoint saved to {self.ckpt_dir}; rerun to resume")
        if self.bad_evals >= t["patience"]:
            log.info("early stop at step %d: no valid nDCG@10 gain in %d evaluations", self.step, t["patience"])
        return {"steps": self.step, "best_step": self.best_step, "best_valid_ndcg@10": self.best,
                "seconds": time.time() - t0, "device": str(self.device)}

    def write_outputs(self, summary: dict) -> None:
        a = self.args
        self.model.load_state_dict(torch.load(self.ckpt_dir / "best.pt", map_location=self.device, weights_only=True))
        out = Path(a.model_out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        self.model.save(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        path, tmp_curve = contracts.atomic_path(a.curve_out)
        pd.DataFrame(self.curve).to_parquet(tmp_curve, index=False)
        os.replace(tmp_curve, path)
        Path(a.summary_out).write_text(json.dumps({**summary, "spec": self.spec}, indent=1))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("spec", "groups", "corpus", "queries", "valid-candidates", "valid-queries",
                 "valid-qrels", "checkpoint-dir", "model-out", "curve-out", "summary-out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    spec = json.loads(a.spec)
    trainer = Trainer(spec, a)
    summary = trainer.run()
    trainer.write_outputs(summary)
    # The checkpoint has served its purpose once the outputs exist.
    shutil.rmtree(trainer.ckpt_dir, ignore_errors=True)


if __name__ == "__main__":
    entry_point(main)()
