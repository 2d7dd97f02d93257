"""What a training run is made of, built from its spec: loss, groups, model, objective,
optimizer, sampler and the token ids of its texts.

Appendix B: Adam with weight decay, batch 128, lr 2.8e-5, query/passage length 30/200, dropout
0.1 and layer norm on the output. The order of construction fixes the random streams (the
model's initialisation, then the objective's MLM head): a run is reproducible from its seed.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from dualrank.data.io import InputError
from dualrank.losses import RankingLoss, build_loss
from dualrank.models import Ranker, build_model
from dualrank.spec import TrainingSpec, TrainJob, TrainSpec
from dualrank.text import cache as tokens
from dualrank.training import distributed
from dualrank.training.groups import Groups, Sampler, load_groups, read_groups
from dualrank.training.objective import Objective
from dualrank.training.validation import ValidSet

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Parts:
    loss_fn: RankingLoss
    groups: Groups  # their query and document ids replaced by rows of the token caches
    model: Ranker
    scorer: nn.Module | None  # what a step scores groups with: the model, through DDP if parallel (None: closed)
    objective: Objective
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    sampler: Sampler
    docs: tokens.TokenTable
    valid: ValidSet
    train_eval: ValidSet | None  # the train MRR@10 set (None: the run's own groups)
    query_names: pa.StringArray  # the groups' query ids as the groups file has them (for errors)


def optimizer(params: list[nn.Parameter], t: TrainingSpec):
    """Adam with decoupled weight decay (none on biases and LayerNorm weights), linear warm-up."""
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=t.lr, fused=True,  # one kernel for all parameters (Hugging Face's default too)
    )
    warm = max(1, t.warmup_steps)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))


def warn_short_groups(groups: Groups, k: int, where: str) -> int:
    """Say once when groups hold fewer passages than K (a query with fewer candidates than the
    loss variant's ``k``): they train on what they have. Returns how many are short."""
    sizes = groups.mask.sum(axis=1)
    short = int((sizes < k).sum())
    if short:
        log.warning("config key k (the loss variant's) = %d, but %d of %d training groups in %s hold fewer "
                    "passages (the smallest %d, %.1f on average); they train on the passages they have",
                    k, short, len(sizes), where, int(sizes.min()), float(sizes.mean()))
    return short


def build(spec: TrainSpec, job: TrainJob, dist: distributed.Context) -> Parts:
    t = spec.training
    if t.batch_size < dist.world:
        raise InputError(f"training.batch_size {t.batch_size} is smaller than the "
                         f"{dist.world} processes that share each batch")
    loss_fn = build_loss(spec.loss.name, **spec.loss.hyper_parameters())
    raw_groups = read_groups(job.groups, loss_fn.needs_teacher)  # a bad file fails before any work
    if (spec.encoder.pretrain is None) != (job.pretrained is None):
        raise InputError("the encoder's pretrain setting and --pretrained go together: "
                         f"pretrain is {'set' if spec.encoder.pretrain else 'not set'}, "
                         f"--pretrained {'given' if job.pretrained else 'not given'}")
    seed_everything(spec.seed)
    model = build_model(spec.arch, spec.encoder.to_dict(), job.tokenizer, t.query_length, t.passage_length,
                        t.dropout, t.output_layer_norm, pretrained=job.pretrained).to(dist.device)
    dist.reseed(spec.seed)
    scorer = dist.wrap(model)
    objective = Objective(loss_fn, model, spec, job.corpus).to(dist.device)
    if dist.world > 1 and (objective.negatives.enabled or objective.mlm is not None):
        # DDP wraps the ranking forward only; extra negatives and the MLM head bypass it.
        raise InputError("training.in_batch_negatives, uniform_negatives and mlm_weight need processes: 1")
    opt, sched = optimizer([*model.parameters(), *objective.parameters()], t)
    # Token ids from the per-corpus cache (dualrank.text.cache), tokenised once for every job and
    # memory-mapped; the groups hold rows of them, nothing is tokenised per step.
    docs = tokens.load(job.corpus, "corpus", model.tokenizer, model.doc_token_length)
    queries = tokens.load(job.queries, "queries", model.tokenizer, model.query_token_length)
    objective.negatives.bind(docs)
    groups = load_groups(job.groups, loss_fn.needs_teacher, docs, queries, table=raw_groups)
    names = raw_groups["query_id"].combine_chunks()
    del raw_groups
    if len(groups) < dist.world:
        raise InputError(f"{job.groups}: {len(groups)} training groups for {dist.world} processes")
    if dist.is_main:
        warn_short_groups(groups, spec.k, job.groups)
    sampler = Sampler(len(groups), t.batch_size, spec.seed)
    valid = ValidSet.load(job, t, model, docs)
    train_eval = ValidSet.load_train_eval(job, t, model, docs)
    return Parts(loss_fn, groups, model, scorer, objective, opt, sched, sampler, docs, valid, train_eval, names)
