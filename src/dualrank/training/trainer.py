"""The training loop: train a CA, DE or ColBERT ranker on training groups with one of the
paper's losses (the command line is ``dualrank train``, dualrank.cli.train).

Appendix B's recipe, 300k steps with early stopping on dev nDCG@10: the parts are built by
dualrank.training.build, evaluated by dualrank.training.validation (every ``eval_every`` steps;
the best model after step 0 is the output, the last step's with ``training.early_stopping``
false) and written by dualrank.training.outputs. What a
step minimises, with token dropout, an MLM loss and extra negatives (Tables 9 and 12), is
dualrank.training.objective.

Resumption: a checkpoint (dualrank.training.checkpoint) is written atomically every
``checkpoint_every`` steps, at the end, and on SIGTERM (SLURM preemption) or SIGINT (Ctrl-C),
after which the job exits with status 143 or 130 (dualrank.training.signals) so that Snakemake's
retry resumes it; a restarted job with the same spec continues from the last checkpoint bit for
bit, after SIGKILL too. Once the outputs exist the checkpoint is removed (only the files the job
wrote: the directory may hold the user's). A non-finite loss stops training before its update,
with a checkpoint of the last good step and an error naming the step and the batch's queries.
``checkpoint_every`` and ``processes`` (the data-parallel ranks,
dualrank.training.distributed) say how a job runs, not what it computes: they are not part of
the spec hash, nor of the rule's params.
"""

from __future__ import annotations

import logging
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch

from dualrank.data.io import InputError, progress
from dualrank.spec import ExecutionSpec, TrainJob, TrainSpec
from dualrank.training import checkpoint, distributed
from dualrank.training.build import build
from dualrank.training.outputs import write_outputs
from dualrank.training.signals import on_stop_signals
from dualrank.training.snapshots import Snapshots
from dualrank.training.validation import Validation

log = logging.getLogger("dualrank.training.trainer")


class Trainer:
    def __init__(self, spec: TrainSpec, job: TrainJob, execution: ExecutionSpec | None = None,
                 dist: distributed.Context | None = None, log_every: int = 0):
        """``log_every``: log the loss every N steps (0: at evaluations only)."""
        self.spec, self.job, self.t = spec, job, spec.training
        self.dist = dist or distributed.Context(
            device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
        self.device = self.dist.device
        self.checkpoint_every = (execution or ExecutionSpec()).checkpoint_every or self.t.eval_every
        self.log_every = log_every
        checkpoint.check_layout(job)
        p = self.parts = build(spec, job, self.dist)
        self.model, self.objective, self.groups = p.model, p.objective, p.groups
        self.snapshots = Snapshots(self.t.snapshot_steps, p.valid.qrels)
        self.validation = Validation(self.t, p.valid, p.docs, p.groups, self.snapshots, spec.seed, p.train_eval,
                                     job.train_mrr_once)
        self.step, self.saved_step, self.stop_signal = 0, -1, 0
        self.running: list[float] = []  # per-step losses since the last evaluation
        self.ckpt_dir = Path(job.checkpoint_dir)

    @property
    def curve(self) -> list[dict]:
        return self.validation.curve

    def close(self) -> None:
        """Leave the process group, the DDP wrapper first (distributed.drop_wrapper says why)."""
        if self.dist.parallel:
            distributed.drop_wrapper(self.parts)
        self.dist.close()

    # -- checkpointing -------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """Collective: every rank hands in its RNG state, rank 0 writes."""
        rngs = self.dist.gather(checkpoint.rng_state())
        if self.dist.is_main:
            p = self.parts
            state = {"spec_hash": checkpoint.spec_hash(self.spec), "world": self.dist.world, "rng": rngs,
                     "model": self.model.state_dict(), "opt": p.opt.state_dict(), "sched": p.sched.state_dict(),
                     "sampler": p.sampler.state(), "objective": self.objective.state_dict(),
                     "snapshots": self.snapshots.state(), "step": self.step, "running": self.running,
                     **self.validation.state()}
            checkpoint.save(self.ckpt_dir, state)
            log.info("checkpoint at step %d in %s", self.step, self.ckpt_dir)
        self.saved_step = self.step
        self.dist.barrier()

    def try_resume(self) -> None:
        state = checkpoint.load_matching(self.ckpt_dir, self.spec, self.dist)
        if state is None:
            return
        p = self.parts
        self.model.load_state_dict(state["model"])
        self.objective.load_state_dict(state.get("objective", {}))
        self.snapshots.restore(state.get("snapshots"))
        p.opt.load_state_dict(state["opt"])
        p.sched.load_state_dict(state["sched"])
        p.sampler.restore(state["sampler"])
        checkpoint.restore_rng(state, self.dist, self.spec.seed)
        self.validation.restore(state, keep_best_model=self.dist.is_main)
        self.step = self.saved_step = state["step"]
        self.running = state["running"]
        log.info("resumed from %s at step %d", self.ckpt_dir, self.step)

    # -- the loop ------------------------------------------------------------------------------
    def evaluate(self, loss: float) -> None:
        """Collective: rank 0 evaluates, every rank learns the early-stopping state."""
        if self.dist.is_main:
            self.validation.evaluate(self.model, self.step, loss)
        self.validation.stopping = self.dist.broadcast(self.validation.stopping)

    def train_step(self) -> float:
        """One optimiser step on the next global batch; returns this rank's (scaled) loss."""
        g, p = self.groups, self.parts
        before = p.sampler.state()
        batch = p.sampler.next()
        idx = self.dist.shard(batch)
        teacher, labels, mask = (
            None if a is None else torch.as_tensor(a[idx], device=self.device)
            for a in (g.teacher, g.labels, g.mask))
        loss = self.objective(self.model, [g.query_ids[i] for i in idx], [g.doc_ids[i] for i in idx],
                              teacher, labels, mask, self.step, scorer=p.scorer)
        loss = loss * self.dist.loss_scale(len(idx), len(batch))
        if self.dist.any(not math.isfinite(loss.item())):
            p.sampler.restore(before)  # the checkpoint is of the last good step
            if self.saved_step != self.step:
                self.save_checkpoint()
            raise non_finite(self, batch)
        p.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.t.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.t.max_grad_norm)
        p.opt.step()
        p.sched.step()
        self.step += 1
        return loss.item()

    def run(self) -> dict:
        """Train to max_steps or early stop; the summary. SIGTERM (SIGINT) meanwhile stops at the
        next step with a checkpoint and SystemExit(143 (130)); the process's own handlers come back."""
        self.try_resume()
        with on_stop_signals(lambda signum: setattr(self, "stop_signal", signum)):
            return self._run()

    def _run(self) -> dict:
        t = self.t
        self.model.train()
        t0, start_step = time.time(), self.step
        if self.step == 0 and not self.curve:
            self.evaluate(float("nan"))
        while self.step < t.max_steps and not self.validation.stopping.exhausted:
            loss = self.dist.mean(self.train_step())
            self.running.append(loss)
            if self.log_every and self.step % self.log_every == 0:
                log.info("step %d/%d: loss %.6f", self.step, t.max_steps, loss)
            if self.step % t.eval_every == 0 or self.step == t.max_steps:
                # The ETA runs to max_steps (the evaluations' time included); early stopping may end sooner.
                seconds = time.time() - t0
                log.info("step %d/%d, %s, %.1f groups/s", self.step, t.max_steps,
                         progress(self.step - start_step, t.max_steps - self.step, seconds, "steps"),
                         (self.step - start_step) / seconds * t.batch_size)
                self.evaluate(float(np.mean(self.running)))
                self.running = []
            # Figure 7's snapshot between evaluations, taken before this step's checkpoint.
            if self.dist.is_main and self.snapshots.wants(self.step):
                self.snapshots.offer(self.step, self.validation.score(self.model))
            # A SIGTERM reaches the ranks at different steps (or during an evaluation): all
            # must agree to stop at one step.
            stop = self.dist.any(bool(self.stop_signal))
            if self.step % self.checkpoint_every == 0 or stop:
                self.save_checkpoint()
            if stop:
                signum = self.stop_signal or signal.SIGTERM  # another rank's signal
                log.error("%s at step %d: checkpoint saved to %s; rerun to resume",
                          signal.Signals(signum).name, self.step, self.ckpt_dir)
                self.close()
                raise SystemExit(128 + signum)
        if self.validation.stopping.exhausted:
            log.info("early stop at step %d: no valid nDCG@10 gain in %d evaluations", self.step, t.patience)
        if self.saved_step != self.step:
            self.save_checkpoint()  # a kill while the outputs are written will not retrain
        # Only rank 0 evaluates, so only it holds the curve (and writes the summary).
        return {"steps": self.step, **self.validation.summary(), "seconds": time.time() - t0,
                "device": str(self.device), "processes": self.dist.world}

    def write_outputs(self, summary: dict) -> dict:
        """Rank 0 writes the outputs; the summary as written (rank 0's)."""
        if self.dist.is_main:
            return write_outputs(self.job, self.spec, self.model, self.validation, self.snapshots, summary)
        return summary


def non_finite(trainer: Trainer, batch) -> InputError:
    """The error for a non-finite loss at the step after ``trainer.step``: the batch's query ids,
    and those of its groups whose teacher scores are not finite."""
    g, names = trainer.groups, trainer.parts.query_names
    queries = names.take(np.asarray(batch)).to_pylist()
    bad = [q for q, i in zip(queries, batch) if g.teacher is not None and not np.isfinite(g.teacher[i]).all()]
    shown = ", ".join(queries[:20]) + (f", ... ({len(queries)} in all)" if len(queries) > 20 else "")
    return InputError(
        f"{trainer.job.groups}: non-finite loss at step {trainer.step + 1}; training stopped, checkpoint of "
        f"step {trainer.step} kept in {trainer.ckpt_dir}. The batch's query ids: {shown}"
        + (f"; non-finite teacher scores in the groups of {', '.join(bad[:20])}" if bad else ""))


def train(spec: TrainSpec, job: TrainJob, execution: ExecutionSpec | None = None,
          dist: distributed.Context | None = None, log_every: int = 0) -> dict:
    """Train one job to its outputs and remove its checkpoint, which has served its purpose
    once they exist. Returns the summary (train.json without the spec)."""
    trainer = Trainer(spec, job, execution, dist, log_every)
    summary = trainer.write_outputs(trainer.run())
    trainer.dist.barrier()
    if trainer.dist.is_main:
        checkpoint.remove(trainer.ckpt_dir)
    trainer.close()
    return summary
