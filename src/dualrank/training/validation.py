"""Validation during training, and early stopping on it (Appendix B: early stopping on dev
nDCG@10, here a ``valid`` split evaluated every ``eval_every`` steps).

Each evaluation re-ranks the valid candidates (a held-out split no result reports) and
measures train MRR@10 (Table 2's "train MRR") by re-ranking the train-eval split's BM25
candidates, the same queries and candidates for every model of a dataset
(:mod:`dualrank.data.splits`); the rows form the learning curve (Figure 4). A run whose
learning curve no result draws (``TrainJob.train_mrr_once``) measures train MRR@10 once, for
the output model: the other results read only that one. The best model
after step 0 is the output; with ``training.early_stopping`` false (Table 8: "after 300,000
steps") training runs to ``max_steps`` and the last step's model is the output. Rank 0 alone
evaluates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dualrank.data import contracts
from dualrank.models import Ranker
from dualrank.retrieval.metrics import evaluate
from dualrank.retrieval.rerank import score_candidates
from dualrank.spec import TrainingSpec, TrainJob
from dualrank.text import cache as tokens
from dualrank.training import checkpoint
from dualrank.training.groups import Groups
from dualrank.training.snapshots import Snapshots, score_group_rows

log = logging.getLogger("dualrank.training.validation")


@dataclass
class ValidSet:
    """The valid candidates and qrels (limited to ``valid_queries`` queries, candidates to
    ``valid_depth``) and the valid queries' token ids."""

    candidates: pd.DataFrame
    qrels: pd.DataFrame
    queries: tokens.TokenTable

    @classmethod
    def load(cls, job: TrainJob, t: TrainingSpec, model: Ranker, docs: tokens.TokenTable) -> ValidSet:
        return cls.read(job.valid_candidates, job.valid_queries, job.valid_qrels, t.valid_queries, t.valid_depth,
                        model, docs)

    @classmethod
    def load_train_eval(cls, job: TrainJob, t: TrainingSpec, model: Ranker,
                        docs: tokens.TokenTable) -> ValidSet | None:
        """The train MRR@10 set, every query of it, candidates cut to ``valid_depth`` as the
        valid set's; None when the job gives none."""
        if job.train_eval_candidates is None:
            return None
        return cls.read(job.train_eval_candidates, job.train_eval_queries, job.train_eval_qrels, None,
                        t.valid_depth, model, docs)

    @classmethod
    def read(cls, candidates, queries, qrels, n_queries: int | None, depth: int | None, model: Ranker,
             docs: tokens.TokenTable) -> ValidSet:
        """The first ``n_queries`` judged queries (by id; None: all) and their candidates of rank
        up to ``depth`` (None: all)."""
        vc = contracts.read(candidates, "run")
        vq = contracts.read(qrels, "qrels")
        keep = sorted(vq["query_id"].unique())[:n_queries]
        if depth is not None:
            vc = vc[vc["rank"] <= depth]
        valid = cls(vc[vc["query_id"].isin(keep)], vq[vq["query_id"].isin(keep)],
                    tokens.load(queries, "queries", model.tokenizer, model.query_token_length))
        docs.positions(valid.candidates["doc_id"])  # unknown ids fail here, naming the file
        valid.queries.positions(valid.candidates["query_id"])
        return valid


def train_mrr(model: Ranker, groups: Groups, idx: np.ndarray, batch_size: int) -> float:
    """MRR@10 of ranking each training group's own documents: the train MRR of a job given no
    train-eval set (the pipeline always gives one)."""
    s = score_group_rows(model, groups, idx, batch_size)
    rr = []
    for row, j in enumerate(idx):
        sc = np.where(groups.mask[j], s[row], -np.inf)
        order = np.argsort(-sc, kind="stable")[:10]
        hits = np.nonzero(groups.labels[j][order] > 0)[0]
        rr.append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
    return float(np.mean(rr)) if rr else float("nan")


@dataclass
class EarlyStopping:
    """The best valid nDCG@10 after step 0 and the evaluations since it improved. ``enabled``
    False (training.early_stopping): the best is still tracked (train.json reports it), but
    patience never runs out and the output model is the last step's."""

    patience: int
    best: float = -1.0
    best_step: int = 0
    bad_evals: int = 0
    enabled: bool = True

    @property
    def exhausted(self) -> bool:
        return self.enabled and self.bad_evals >= self.patience

    def offer(self, step: int, ndcg: float) -> bool:
        """Count an evaluation; True if it is the best so far. The step-0 evaluation is the
        curve's start (Figures 4, 7), not a candidate model: it is the initialisation (random,
        or pre-trained under a random score head), and a run whose first evaluations fall below
        it (a distilled student still shrinking its scores to the teacher's range) would
        otherwise return its untrained init."""
        improved = step > 0 and ndcg > self.best
        if improved:
            self.best, self.best_step, self.bad_evals = ndcg, step, 0
        elif step > 0:
            self.bad_evals += 1
        return improved


class Validation:
    """Rank 0's evaluations: the learning curve, early stopping and the best model's weights
    (a CPU copy, kept while training goes on)."""

    def __init__(self, t: TrainingSpec, valid: ValidSet, docs: tokens.TokenTable, groups: Groups,
                 snapshots: Snapshots, seed: int, train_eval: ValidSet | None = None, train_mrr_once: bool = False):
        """``train_mrr_once``: train MRR@10 of the output model only (output_train_mrr), the
        curve's other rows NaN; else at every evaluation."""
        self.valid, self.docs, self.groups, self.snapshots = valid, docs, groups, snapshots
        self.train_eval, self.train_mrr_once = train_eval, train_mrr_once
        self.eval_batch_size = t.eval_batch_size
        self.per_batch = max(1, t.eval_batch_size // groups.k)  # groups of K documents per batch
        # Figure 5's train score distributions: a seeded sample of the run's own groups (drawn
        # with or without a train-eval set, so that the sample and the random streams stay put).
        rng = np.random.default_rng(seed)
        n_eval = min(t.train_eval_groups, len(groups))
        self.train_eval_idx = np.sort(rng.choice(len(groups), n_eval, replace=False))
        self.stopping = EarlyStopping(t.patience, enabled=t.early_stopping)
        self.curve: list[dict] = []
        self.best_state: dict | None = None

    def score(self, model: Ranker) -> pd.DataFrame:
        """The model's scores of the valid candidates (leaves it in training mode)."""
        run = score_candidates(model, self.valid.candidates, self.valid.queries, self.docs, self.eval_batch_size)
        model.train()
        return run

    def train_mrr(self, model: Ranker) -> float:
        """MRR@10 of re-ranking the train-eval candidates (one set for every model of a
        dataset), else of ranking the sampled training groups' own documents."""
        if self.train_eval is None:
            return train_mrr(model, self.groups, self.train_eval_idx, self.per_batch)
        te = self.train_eval
        run = score_candidates(model, te.candidates, te.queries, self.docs, self.eval_batch_size)
        return evaluate(run, te.qrels)[0]["mrr@10"]

    def evaluate(self, model: Ranker, step: int, loss: float) -> None:
        run = self.score(model)
        self.snapshots.offer(step, run)
        agg, _ = evaluate(run, self.valid.qrels)
        tr = float("nan") if self.train_mrr_once else self.train_mrr(model)
        model.train()
        self.curve.append({"step": step, "loss": loss, "train_mrr@10": tr,
                           "valid_mrr@10": agg["mrr@10"], "valid_ndcg@10": agg["ndcg@10"]})
        improved = self.stopping.offer(step, agg["ndcg@10"])
        if improved and self.stopping.enabled:  # without early stopping the last step is the output
            self.best_state = checkpoint.cpu_copy(model.state_dict())
        # Step 0 is the initialisation, evaluated before any loss exists (the curve keeps NaN).
        log.info("step %d: %s%s valid MRR@10 %.3f nDCG@10 %.3f%s",
                 step, f"loss {loss:.4f}" if step else "initial model,",
                 "" if self.train_mrr_once else f" train MRR@10 {tr:.3f}", agg["mrr@10"], agg["ndcg@10"],
                 " (best)" if improved else "")

    def output_step(self) -> int:
        """The step of the output model: the best one, or without early stopping the last
        evaluated (training ends with an evaluation, at max_steps)."""
        if self.stopping.enabled or not self.curve:
            return self.stopping.best_step
        return self.curve[-1]["step"]

    def output_model(self, model: Ranker) -> None:
        """Load the output model's weights into ``model``, which holds the last step's."""
        if self.stopping.enabled:
            model.load_state_dict(self.best_state)

    def output_train_mrr(self, model: Ranker) -> None:
        """With ``train_mrr_once``, score ``model`` (the output model, output_model loaded) into
        its row of the curve, where summary() reads it."""
        if not self.train_mrr_once:
            return
        step = self.output_step()
        rows = [r for r in self.curve if r["step"] == step]
        if rows:
            rows[0]["train_mrr@10"] = self.train_mrr(model)
            log.info("step %d (the output model): train MRR@10 %.3f", step, rows[0]["train_mrr@10"])

    def summary(self) -> dict:
        """The output model's metrics (train.json); ``best_step`` and ``best_valid_ndcg@10``
        are early stopping's choice, the output unless training.early_stopping is false."""
        s = self.stopping
        step = self.output_step()
        out = next((r for r in self.curve if r["step"] == step), {})
        summary = {"best_step": s.best_step, "best_valid_ndcg@10": s.best,
                   "train_mrr@10": out.get("train_mrr@10"), "valid_mrr@10": out.get("valid_mrr@10")}
        return summary if s.enabled else {**summary, "early_stopping": False, "model_step": step}

    # The checkpoint's keys, as they always were.
    def state(self) -> dict:
        s = self.stopping
        return {"best": s.best, "best_step": s.best_step, "bad_evals": s.bad_evals, "curve": self.curve,
                "best_model": self.best_state}

    def restore(self, state: dict, keep_best_model: bool) -> None:
        """``keep_best_model``: rank 0's, the only one that writes it out."""
        self.stopping = EarlyStopping(self.stopping.patience, state["best"], state["best_step"], state["bad_evals"],
                                      self.stopping.enabled)
        self.curve = state["curve"]
        if state["best_model"] is not None and keep_best_model:
            self.best_state = checkpoint.cpu_copy(state["best_model"])
