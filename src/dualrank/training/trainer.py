"""Train a CA, DE or ColBERT ranker on training groups with one of the paper's losses.

    python -m dualrank.training.trainer --spec JSON --groups G.parquet --corpus C.parquet \
        --queries Q.parquet --valid-candidates V.parquet --valid-queries VQ.parquet \
        --valid-qrels VR.parquet [--tokenizer DIR] --checkpoint-dir DIR \
        --model-out DIR --curve-out curve.parquet --summary-out train.json \
        [--snapshots-out snapshots.parquet] [--train-scores-out train-scores.parquet]

Appendix B: Adam with weight decay, batch 128, lr 2.8e-5, 300k steps, query/passage length
30/200, dropout 0.1 and layer norm on the output; early stopping on dev nDCG@10 (here a
``valid`` split, evaluated every ``eval_every`` steps; the best model after step 0 is the output).
The learning curve (train and valid MRR@10 per evaluation, Figure 4) is written beside it, and
optionally per-pair score dumps (dualrank.training.snapshots, Figures 5 and 7). What a step minimises,
with token dropout, an MLM loss and extra negatives (Tables 9 and 12), is dualrank.training.objective.

Resumption: ``--checkpoint-dir`` lies outside Snakemake's outputs (which a failed job loses);
a checkpoint (dualrank.training.checkpoint) is written atomically every ``checkpoint_every`` steps, at
the end, and on SIGTERM (SLURM preemption), after which the job exits with status 143 so that
Snakemake's retry resumes it; a restarted job with the same spec continues from the last
checkpoint bit for bit, after SIGKILL too. ``checkpoint_every`` and ``processes`` (the
data-parallel ranks, dualrank.training.distributed) say how a job runs, not what it computes: they are
not part of the spec hash, nor of the rule's params.
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
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dualrank.training import checkpoint, distributed
from dualrank.data import contracts
from dualrank.text import cache as tokens
from dualrank.data.io import InputError
from dualrank.grid import TRAIN_EXECUTION_KEYS
from dualrank.training.groups import Groups, Sampler, load_groups
from dualrank.cli.logs import entry_point
from dualrank.losses import build_loss
from dualrank.retrieval.metrics import evaluate
from dualrank.models import Ranker, build_model
from dualrank.training.objective import Objective
from dualrank.retrieval.rerank import score_candidates
from dualrank.training.snapshots import Snapshots, score_group_rows, snapshot_steps, train_scores

log = logging.getLogger("dualrank.training.trainer")

TRAINING_KEYS = {
    "lr", "weight_decay", "batch_size", "max_steps", "warmup_steps", "query_length",
    "passage_length", "dropout", "output_layer_norm", "eval_every", "patience",
    "valid_queries", "valid_depth", "train_eval_groups", "max_grad_norm", "eval_batch_size",
    # Tables 9 and 12 (dualrank.training.objective) and Figure 7 (dualrank.training.snapshots).
    "token_dropout", "mlm_weight", "mlm_probability", "in_batch_negatives", "uniform_negatives",
    "snapshot_steps",
    "checkpoint_every", "processes",
}
# How a job runs, not what it computes (see the module docstring): one list with the grid's,
# which keeps these keys out of the job's params as spec_hash keeps them out of a checkpoint's.
EXECUTION_KEYS = set(TRAIN_EXECUTION_KEYS)
SIGTERM_STATUS = 128 + signal.SIGTERM


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def spec_hash(spec: dict) -> str:
    t = {k: v for k, v in spec.get("training", {}).items() if k not in EXECUTION_KEYS}
    return hashlib.sha256(json.dumps({**spec, "training": t}, sort_keys=True).encode()).hexdigest()[:16]


def train_mrr(model: Ranker, groups: Groups, idx: np.ndarray, batch_size: int) -> float:
    """MRR@10 of ranking each training group's own documents (the 'train MRR' of Table 2)."""
    s = score_group_rows(model, groups, idx, batch_size)
    rr = []
    for row, j in enumerate(idx):
        sc = np.where(groups.mask[j], s[row], -np.inf)
        order = np.argsort(-sc, kind="stable")[:10]
        hits = np.nonzero(groups.labels[j][order] > 0)[0]
        rr.append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
    return float(np.mean(rr)) if rr else float("nan")


class Trainer:
    def __init__(self, spec: dict, args: argparse.Namespace, dist: distributed.Context | None = None):
        self.spec, self.args = spec, args
        t = spec["training"]
        unknown = set(t) - TRAINING_KEYS
        if unknown:
            raise InputError(f"training: unknown key(s) {sorted(unknown)}")
        self.t = t
        self.dist = dist or distributed.Context(
            device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
        self.device = self.dist.device
        self.checkpoint_every = (getattr(args, "checkpoint_every", None) or t.get("checkpoint_every")
                                 or t["eval_every"])
        self.log_every = getattr(args, "log_every", 0) or 0
        if t["batch_size"] < self.dist.world:
            raise InputError(f"training.batch_size {t['batch_size']} is smaller than the "
                             f"{self.dist.world} processes that share each batch")
        self.loss_fn = build_loss(spec["loss"]["name"], **{k: v for k, v in spec["loss"].items() if k != "name"})
        self.groups = load_groups(args.groups, self.loss_fn.needs_teacher)
        if len(self.groups) < self.dist.world:
            raise InputError(f"{args.groups}: {len(self.groups)} training groups for {self.dist.world} processes")
        seed_everything(spec["seed"])
        self.model = build_model(
            spec["arch"], spec["encoder"], args.tokenizer, t["query_length"], t["passage_length"],
            t["dropout"], t["output_layer_norm"],
        ).to(self.device)
        self.dist.reseed(spec["seed"])
        self.scorer = self.dist.wrap(self.model)
        self.objective = Objective(self.loss_fn, self.model, spec, args.corpus).to(self.device)
        if self.dist.world > 1 and (self.objective.negatives.enabled or self.objective.mlm is not None):
            # DDP wraps the ranking forward only; extra negatives and the MLM head bypass it.
            raise InputError("training.in_batch_negatives, uniform_negatives and mlm_weight need "
                             "processes: 1")
        # Adam with decoupled weight decay; no decay on biases and LayerNorm weights.
        params = [*self.model.parameters(), *self.objective.parameters()]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=t["lr"], fused=True,  # one kernel for all parameters (Hugging Face's default too)
        )
        warm = max(1, t.get("warmup_steps", 0))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: min(1.0, (s + 1) / warm))
        self.sampler = Sampler(len(self.groups), t["batch_size"], spec["seed"])
        self._load_texts()
        self.snapshots = Snapshots(snapshot_steps(t), self.valid_qrels)
        rng = np.random.default_rng(spec["seed"])
        n_eval = min(t.get("train_eval_groups", 500), len(self.groups))
        self.train_eval_idx = np.sort(rng.choice(len(self.groups), n_eval, replace=False))
        self.step, self.best, self.best_step, self.bad_evals, self.curve = 0, -1.0, 0, 0, []
        self.running: list[float] = []  # per-step losses since the last evaluation
        self.best_state: dict | None = None  # CPU copy of the best model's weights (rank 0)
        self.ckpt_dir = Path(args.checkpoint_dir)
        self.saved_step = -1
        self.stop_requested = False

    def _load_texts(self) -> None:
        a = self.args
        vc = contracts.read(a.valid_candidates, "run")
        vq = contracts.read(a.valid_qrels, "qrels")
        keep = sorted(vq["query_id"].unique())[: self.t.get("valid_queries", 10**9)]
        vc = vc[vc["rank"] <= self.t.get("valid_depth", 10**9)]
        self.valid_cands = vc[vc["query_id"].isin(keep)]
        self.valid_qrels = vq[vq["query_id"].isin(keep)]
        # Token ids from the per-corpus cache (dualrank.text.cache), tokenised once for every job;
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
    STATE = ("step", "best", "best_step", "bad_evals", "curve", "running")

    def save_checkpoint(self) -> None:
        """Collective: every rank hands in its RNG state, rank 0 writes."""
        rngs = self.dist.gather(checkpoint.rng_state())
        if self.dist.is_main:
            state = {"spec_hash": spec_hash(self.spec), "world": self.dist.world, "rng": rngs,
                     "model": self.model.state_dict(), "best_model": self.best_state,
                     "opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
                     "sampler": self.sampler.state(), "objective": self.objective.state_dict(),
                     "snapshots": self.snapshots.state(), **{k: getattr(self, k) for k in self.STATE}}
            checkpoint.save(self.ckpt_dir, state)
            log.info("checkpoint at step %d in %s", self.step, self.ckpt_dir)
        self.saved_step = self.step
        self.dist.barrier()

    def try_resume(self) -> None:
        state = checkpoint.load(self.ckpt_dir, self.device, clean=self.dist.is_main)
        if state is not None and state["spec_hash"] != spec_hash(self.spec):
            self.dist.barrier()  # every rank has read it before rank 0 removes it
            if self.dist.is_main:
                log.warning("%s belongs to another configuration; starting afresh", self.ckpt_dir)
                shutil.rmtree(self.ckpt_dir)
            self.dist.barrier()
            return
        if state is None:
            return
        self.model.load_state_dict(state["model"])
        self.objective.load_state_dict(state.get("objective", {}))
        self.snapshots.restore(state.get("snapshots"))
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.sampler.restore(state["sampler"])
        if state["world"] == self.dist.world:
            checkpoint.set_rng_state(state["rng"][self.dist.rank])
        else:
            # Other ranks, other dropout streams: the resumed run is equivalent in distribution.
            log.warning("checkpoint of %d process(es) resumed by %d: random streams reseeded",
                        state["world"], self.dist.world)
            checkpoint.set_rng_state(state["rng"][0])
            self.dist.reseed(self.spec["seed"] + state["step"])
        if state["best_model"] is not None and self.dist.is_main:
            self.best_state = checkpoint.cpu_copy(state["best_model"])
        for k in self.STATE:
            setattr(self, k, state[k])
        self.saved_step = self.step
        log.info("resumed from %s at step %d", self.ckpt_dir, self.step)

    # -- evaluation ----------------------------------------------------------------------------
    def score_valid(self) -> pd.DataFrame:
        run = score_candidates(self.model, self.valid_cands, self.valid_text, self.docs,
                               self.t.get("eval_batch_size", 256))
        self.model.train()
        return run

    def evaluate(self, loss: float) -> None:
        """Collective: rank 0 evaluates, every rank learns the early-stopping state."""
        if self.dist.is_main:
            self._evaluate(loss)
        self.best, self.best_step, self.bad_evals = self.dist.broadcast((self.best, self.best_step, self.bad_evals))

    def _evaluate(self, loss: float) -> None:
        t = self.t
        run = self.score_valid()
        self.snapshots.offer(self.step, run)
        agg, _ = evaluate(run, self.valid_qrels)
        per_batch = max(1, t.get("eval_batch_size", 256) // self.groups.k)
        tr = train_mrr(self.model, self.groups, self.train_eval_idx, per_batch)
        self.model.train()
        self.curve.append({"step": self.step, "loss": loss, "train_mrr@10": tr,
                           "valid_mrr@10": agg["mrr@10"], "valid_ndcg@10": agg["ndcg@10"]})
        # The step-0 evaluation is the curve's start (Figures 4, 7), not a candidate model: it
        # is the initialisation (random, or pre-trained under a random score head), and a run
        # whose first evaluations fall below it (a distilled student still shrinking its
        # scores to the teacher's range) would otherwise return its untrained init.
        improved = self.step > 0 and agg["ndcg@10"] > self.best
        if improved:
            self.best, self.best_step, self.bad_evals = agg["ndcg@10"], self.step, 0
            self.best_state = checkpoint.cpu_copy(self.model.state_dict())
        elif self.step > 0:
            self.bad_evals += 1
        log.info("step %d: loss %.4f train MRR@10 %.3f valid MRR@10 %.3f nDCG@10 %.3f%s",
                 self.step, loss, tr, agg["mrr@10"], agg["ndcg@10"], " (best)" if improved else "")

    # -- the loop ------------------------------------------------------------------------------
    def train_step(self) -> float:
        """One optimiser step on the next global batch; returns this rank's (scaled) loss."""
        g, t = self.groups, self.t
        batch = self.sampler.next()
        idx = self.dist.shard(batch)
        teacher, labels, mask = (
            None if a is None else torch.as_tensor(a[idx], device=self.device)
            for a in (g.teacher, g.labels, g.mask))
        loss = self.objective(self.model, [g.query_ids[i] for i in idx], [g.doc_ids[i] for i in idx],
                              teacher, labels, mask, self.step, scorer=self.scorer)
        loss = loss * self.dist.loss_scale(len(idx), len(batch))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if t.get("max_grad_norm"):
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), t["max_grad_norm"])
        self.opt.step()
        self.sched.step()
        self.step += 1
        return loss.item()

    def run(self) -> dict:
        t = self.t
        self.try_resume()
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))
        self.model.train()
        t0, start_step = time.time(), self.step
        if self.step == 0 and not self.curve:
            self.evaluate(float("nan"))
        while self.step < t["max_steps"] and self.bad_evals < t["patience"]:
            loss = self.dist.mean(self.train_step())
            self.running.append(loss)
            if self.log_every and self.step % self.log_every == 0:
                log.info("step %d/%d: loss %.6f", self.step, t["max_steps"], loss)
            if self.step % t["eval_every"] == 0 or self.step == t["max_steps"]:
                rate = (self.step - start_step) / (time.time() - t0)
                log.info("step %d/%d, %.2f steps/s, %.1f groups/s", self.step, t["max_steps"], rate,
                         rate * t["batch_size"])
                self.evaluate(float(np.mean(self.running)))
                self.running = []
            # Figure 7's snapshot between evaluations, taken before this step's checkpoint.
            if self.dist.is_main and self.snapshots.wants(self.step):
                self.snapshots.offer(self.step, self.score_valid())
            # A SIGTERM reaches the ranks at different steps (or during an evaluation): all
            # must agree to stop at one step.
            stop = self.dist.any(self.stop_requested)
            if self.step % self.checkpoint_every == 0 or stop:
                self.save_checkpoint()
            if stop:
                log.error("SIGTERM at step %d: checkpoint saved to %s; rerun to resume", self.step, self.ckpt_dir)
                self.dist.close()
                raise SystemExit(SIGTERM_STATUS)
        if self.bad_evals >= t["patience"]:
            log.info("early stop at step %d: no valid nDCG@10 gain in %d evaluations", self.step, t["patience"])
        if self.saved_step != self.step:
            self.save_checkpoint()  # a kill while the outputs are written will not retrain
        # Only rank 0 evaluates, so only it holds the curve (and writes the summary).
        best = next((r for r in self.curve if r["step"] == self.best_step), {})
        return {"steps": self.step, "best_step": self.best_step, "best_valid_ndcg@10": self.best,
                "train_mrr@10": best.get("train_mrr@10"), "valid_mrr@10": best.get("valid_mrr@10"),
                "seconds": time.time() - t0, "device": str(self.device), "processes": self.dist.world}

    def write_outputs(self, summary: dict) -> None:
        if not self.dist.is_main:
            return
        a = self.args
        self.model.load_state_dict(self.best_state)
        out = Path(a.model_out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        self.model.save(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        path, tmp_curve = contracts.atomic_path(a.curve_out)
        pd.DataFrame(self.curve).to_parquet(tmp_curve, index=False)
        os.replace(tmp_curve, path)
        if getattr(a, "snapshots_out", None):
            self.snapshots.write(a.snapshots_out, self.score_valid(), self.best_step)
        if getattr(a, "train_scores_out", None):
            per_batch = max(1, self.t.get("eval_batch_size", 256) // self.groups.k)
            scores = train_scores(self.model, self.groups, self.train_eval_idx, a.groups, per_batch)
            contracts.write(scores, a.train_scores_out, "train_scores")
        path, tmp_summary = contracts.atomic_path(a.summary_out)
        spec = {**self.spec, "training": {k: v for k, v in self.t.items() if k not in EXECUTION_KEYS}}
        tmp_summary.write_text(json.dumps({**summary, "spec": spec}, indent=1))
        os.replace(tmp_summary, path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("spec", "groups", "corpus", "queries", "valid-candidates", "valid-queries",
                 "valid-qrels", "checkpoint-dir", "model-out", "curve-out", "summary-out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--tokenizer", default=None)
    p.add_argument("--snapshots-out", default=None, help="snapshots.parquet: valid scores at init, "
                   "training.snapshot_steps and the end (Figure 7)")
    p.add_argument("--train-scores-out", default=None, help="train-scores.parquet: the final model's "
                   "scores of the train-eval groups' documents (Figure 5)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads of the whole job (all processes)")
    p.add_argument("--processes", type=int, default=0,
                   help="data-parallel processes, one GPU each (default: training.processes, else 1); "
                        "> 1 re-launches this command under torchrun")
    p.add_argument("--checkpoint-every", type=int, default=0,
                   help="steps between checkpoints (default: training.checkpoint_every, else eval_every)")
    p.add_argument("--log-every", type=int, default=0, help="log the loss every N steps (0: at evaluations)")
    args = sys.argv[1:] if argv is None else argv
    a = p.parse_args(args)
    spec = json.loads(a.spec)
    processes = a.processes or spec.get("training", {}).get("processes", 1)
    if processes > 1 and not distributed.launched():
        cmd = distributed.torchrun_command(processes, args if a.processes else [*args, "--processes", str(processes)])
        log.info("launching %d processes: %s", processes, " ".join(cmd))
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(cmd[0], cmd)
    dist = distributed.init()
    if not dist.is_main:
        logging.getLogger("dualrank").setLevel(logging.WARNING)  # rank 0 reports
    if a.threads:
        torch.set_num_threads(max(1, a.threads // dist.world))
    trainer = Trainer(spec, a, dist)
    summary = trainer.run()
    trainer.write_outputs(summary)
    dist.barrier()
    # The checkpoint has served its purpose once the outputs exist.
    if dist.is_main:
        shutil.rmtree(trainer.ckpt_dir, ignore_errors=True)
    dist.close()


if __name__ == "__main__":
    entry_point(main)()
