"""Typed, frozen specs of a training job: the one place for its keys, their defaults and ranges.

A job's spec is what :func:`dualrank.grid.train_spec` builds from the config and the train rule
passes as ``--spec`` (its Snakemake params)::

    {"arch": "de", "encoder": EncoderSpec, "loss": LossSpec, "k": 20, "seed": 0,
     "training": TrainingSpec}

``from_dict`` checks a dict against the declared fields: an unknown or missing key, or a value
out of range, raises :class:`~dualrank.data.io.InputError` naming the key (``training.dropout
must be a number in [0, 1), got 1.5``). ``to_dict`` gives back exactly the keys that were given,
in their order: a key left to its default stays absent, so the rule's params and a checkpoint's
spec hash are those of the dict it came from. How a job runs (:class:`ExecutionSpec`) is no part
of what it computes, and :class:`TrainJob` names its files. workflow/schemas/config.schema.yaml
checks the config before any job runs; tests/test_spec.py holds it and these types to the same
keys. Imports neither torch nor Snakemake: the grid uses it while Snakemake builds the DAG.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from dualrank.data.io import InputError


@dataclass(frozen=True)
class Check:
    """What a value must be: ``kind`` bool, str, int (in range), number (finite, in range) or
    ints (a list of integers in range)."""

    kind: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.kind in ("bool", "str"):
            return "true or false" if self.kind == "bool" else "a string"
        what = {"int": "an integer", "ints": "a list of integers", "number": "a number"}[self.kind]
        if self.low > -math.inf and self.high < math.inf:
            lo, hi = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{what} in {lo}{self.low:g}, {self.high:g}{hi}"
        if self.low > -math.inf:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        return what

    def in_range(self, x: Any) -> bool:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            return False
        if self.kind != "number" and not isinstance(x, int):
            return False
        return ((x > self.low if self.low_open else x >= self.low)
                and (x < self.high if self.high_open else x <= self.high))

    def __call__(self, x: Any, where: str) -> Any:
        """``x`` as the spec holds it (a list becomes a tuple), or InputError naming ``where``."""
        if self.kind == "bool":
            ok = isinstance(x, bool)
        elif self.kind == "str":
            ok = isinstance(x, str)
        elif self.kind == "ints":
            ok = isinstance(x, (list, tuple)) and all(map(self.in_range, x))
            x = tuple(x) if ok else x
        else:
            ok = self.in_range(x)
        if not ok:
            raise InputError(f"{where} must be {self.describe()}, got {x!r}")
        return x


BOOL, STRING = Check("bool"), Check("str")
PROBABILITY = Check("number", 0, 1, high_open=True)


def key(check: Check, default: Any = MISSING) -> Any:
    """A spec field: its check, and its default if a spec may leave it out."""
    return field(default=default, metadata={"check": check})


def section(spec_type: type, default: Any = MISSING) -> Any:
    """A spec field that is itself a spec (a nested mapping)."""
    return field(default=default, metadata={"spec": spec_type})


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _plain(x: Any) -> Any:
    if isinstance(x, Spec):
        return x.to_dict()
    return list(x) if isinstance(x, tuple) else x


@dataclass(frozen=True, kw_only=True)
class Spec:
    """Base of the specs: ``from_dict`` and ``to_dict`` over the dataclass fields."""

    SECTION: ClassVar[str] = ""  # where a key of this spec lives, for messages
    # The keys from_dict was given, in order; None: every field (a spec built in code).
    given: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def keys(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in fields(cls) if f.name != "given"}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {n: f.default for n, f in cls.keys().items() if f.default is not MISSING}

    @classmethod
    def from_dict(cls, d: Mapping, where: str | None = None):
        where = cls.SECTION if where is None else where
        if not isinstance(d, Mapping):
            raise InputError(f"{where or 'spec'} must be a mapping, got {d!r}")
        known = cls.keys()
        unknown = [k for k in d if k not in known]
        if unknown:
            raise InputError(f"{where or 'spec'}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        missing = [k for k, f in known.items() if k not in d and f.default is MISSING]
        if missing:
            raise InputError(f"{where or 'spec'}: missing key(s) {missing}")
        spec = cls(**{k: _value(known[k], x, _join(where, k)) for k, x in d.items()}, given=tuple(d))
        spec.check(where)
        return spec

    def check(self, where: str) -> None:
        """What the fields cannot say one by one (none here)."""

    def to_dict(self) -> dict:
        names = self.keys() if self.given is None else self.given
        return {k: _plain(getattr(self, k)) for k in names}

    def replace(self, **changes):
        """A copy with ``changes``, which to_dict then writes as given keys."""
        given = None if self.given is None else (*self.given, *(k for k in changes if k not in self.given))
        return dataclasses.replace(self, **changes, given=given)


def _value(f: dataclasses.Field, x: Any, where: str) -> Any:
    if x is None and f.default is None:
        return None  # an optional key given as null
    if "spec" in f.metadata:
        return f.metadata["spec"].from_dict(x, where)
    return f.metadata["check"](x, where)


# -- encoders -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class InitShape(Spec):
    """A random-initialised BERT's shape (the demo's encoders, trained from scratch)."""

    SECTION: ClassVar[str] = "encoder.init"
    layers: int = key(Check("int", 1))
    hidden: int = key(Check("int", 8))
    heads: int = key(Check("int", 1))
    intermediate: int = key(Check("int", 8))


@dataclass(frozen=True, kw_only=True)
class PretrainSpec(Spec):
    """Inverse-cloze pre-training of a random-initialised encoder, once per dataset, before any
    training (dualrank.training.pretrain): the demo's stand-in for BERT's pre-training."""

    SECTION: ClassVar[str] = "encoder.pretrain"
    ict_steps: int = key(Check("int", 0))  # [CLS] dot product, in-batch negatives (the DE's score)
    pair_steps: int = key(Check("int", 0), 0)  # then [CLS] of (sentence, passage) pairs (the CA's)
    batch_size: int = key(Check("int", 2))
    pair_batch_size: int | None = key(Check("int", 2), None)  # pseudo-queries a pair step (default batch_size)
    pair_negatives: int = key(Check("int", 1), 3)  # per pseudo-query, from the batch
    lr: float = key(Check("number", 0, low_open=True))
    weight_decay: float = key(Check("number", 0), 0.01)
    warmup_steps: int = key(Check("int", 0), 0)
    temperature: float = key(Check("number", 0, low_open=True), 1.0)  # ICT scores are dot / temperature
    keep_rate: float = key(PROBABILITY, 0.1)  # the sentence stays in its passage (Lee et al. 2019: 0.1)
    seed: int = key(Check("int", 0), 0)

    @property
    def pair_batch(self) -> int:
        return self.pair_batch_size or self.batch_size

    def check(self, where: str) -> None:
        if self.pair_steps and self.pair_negatives >= self.pair_batch:
            raise InputError(f"{where}.pair_negatives ({self.pair_negatives}) must be below the pair batch size "
                             f"({self.pair_batch}): the negatives are the batch's other passages")


@dataclass(frozen=True, kw_only=True)
class EncoderSpec(Spec):
    """A BERT backbone (dualrank.models.encoders): a Hugging Face id, a local directory, or a
    random-initialised shape; exactly one of them. A random-initialised one may be pre-trained
    (``pretrain``) before its runs start from it."""

    SECTION: ClassVar[str] = "encoder"
    hf_id: str | None = key(STRING, None)
    path: str | None = key(STRING, None)
    init: InitShape | None = section(InitShape, None)
    pretrain: PretrainSpec | None = section(PretrainSpec, None)

    def check(self, where: str) -> None:
        given = [k for k in ("hf_id", "path", "init") if getattr(self, k) is not None]
        if len(given) != 1:
            raise InputError(f"{where}: give exactly one of hf_id, path, init (got {given})")
        if self.pretrain is not None and self.init is None:
            raise InputError(f"{where}.pretrain: only an `init` encoder is pre-trained here "
                             f"(a hf_id or path encoder is pre-trained already)")


# -- losses ---------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class LossSpec(Spec):
    """A ranking loss by name (dualrank.losses) and the hyper-parameters the config sets; those
    it leaves out keep the loss's own defaults (its constructor's), which checks which apply."""

    SECTION: ClassVar[str] = "loss"
    name: str = key(STRING)
    label_smoothing: float | None = key(PROBABILITY, None)  # one_hot (Table 8)
    temperature: float | None = key(Check("number", 0, low_open=True), None)  # one_hot, softmax_ce
    tau_squared: bool | None = key(BOOL, None)  # softmax_ce
    gamma: float | None = key(Check("number", 0), None)  # focal
    gamma0: float | None = key(Check("number"), None)  # rankdistil_b

    #: The keys of a config ``losses`` entry besides the loss's hyper-parameters: the loss's
    #: name, K (documents per query) and the variant's own training keys.
    VARIANT_KEYS: ClassVar[tuple[str, ...]] = ("loss", "k", "training")

    def hyper_parameters(self) -> dict:
        return {k: v for k, v in self.to_dict().items() if k != "name"}

    @classmethod
    def from_variant(cls, variant: Mapping, where: str) -> LossSpec:
        """The loss of a config ``losses`` entry ({loss, k, hyper-parameters, training})."""
        hyper = {k: v for k, v in variant.items() if k not in cls.VARIANT_KEYS}
        return cls.from_dict({"name": variant["loss"], **hyper}, where)


# -- training -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class TrainingSpec(Spec):
    """What a training job computes: Appendix B's recipe (early stopping on by default), the
    regularisers of Table 9 and the extra negatives of Table 12 (dualrank.training.objective),
    Figure 7's snapshot steps."""

    SECTION: ClassVar[str] = "training"
    lr: float = key(Check("number", 0, low_open=True))
    weight_decay: float = key(Check("number", 0))
    batch_size: int = key(Check("int", 1))
    max_steps: int = key(Check("int", 1))
    warmup_steps: int = key(Check("int", 0), 0)
    query_length: int = key(Check("int", 4))
    passage_length: int = key(Check("int", 4))
    dropout: float = key(PROBABILITY)
    output_layer_norm: bool = key(BOOL)
    eval_every: int = key(Check("int", 1))
    patience: int = key(Check("int", 1))
    # False: no early stopping, the output model is the last step's (Table 8, C.9: "we report
    # results after 300,000 steps of training"); validation still draws the learning curve.
    early_stopping: bool = key(BOOL, True)
    valid_queries: int | None = key(Check("int", 1), None)  # None: every valid query
    valid_depth: int | None = key(Check("int", 1), None)  # None: every candidate
    train_eval_groups: int = key(Check("int", 1), 500)
    max_grad_norm: float | None = key(Check("number", 0, low_open=True), None)  # None: no clipping
    eval_batch_size: int = key(Check("int", 1), 256)
    token_dropout: float = key(PROBABILITY, 0.0)
    mlm_weight: float = key(Check("number", 0), 0.0)
    mlm_probability: float = key(Check("number", 0, 1, low_open=True, high_open=True), 0.15)
    in_batch_negatives: bool = key(BOOL, False)
    uniform_negatives: int = key(Check("int", 0), 0)
    snapshot_steps: tuple[int, ...] = key(Check("ints", 1), ())


@dataclass(frozen=True, kw_only=True)
class ExecutionSpec(Spec):
    """How a training job runs, not what it computes: keys of the config's ``training`` that
    stay out of the spec hash and the rule's params, so that changing them reruns nothing."""

    SECTION: ClassVar[str] = "training"
    checkpoint_every: int | None = key(Check("int", 1), None)  # None: every eval_every steps
    processes: int = key(Check("int", 1), 1)  # data-parallel ranks (dualrank.training.distributed)


def split_execution(training: Mapping) -> tuple[dict, dict]:
    """A ``training`` mapping's keys that say what a job computes, and those that say how it runs."""
    how = ExecutionSpec.keys()
    return ({k: v for k, v in training.items() if k not in how},
            {k: v for k, v in training.items() if k in how})


@dataclass(frozen=True, kw_only=True)
class TrainSpec(Spec):
    """Everything that defines a training job's result."""

    arch: str = key(STRING)  # ca, de or colbert (dualrank.models.ARCHS)
    encoder: EncoderSpec = section(EncoderSpec)
    loss: LossSpec = section(LossSpec)
    k: int = key(Check("int", 2))  # documents per query of the training groups
    seed: int = key(Check("int", 0))
    training: TrainingSpec = section(TrainingSpec)

    @classmethod
    def with_execution(cls, d: Mapping) -> tuple[TrainSpec, ExecutionSpec]:
        """A spec whose ``training`` may also hold execution keys (as a hand-written one may)."""
        training, how = split_execution(d.get("training", {}))
        return cls.from_dict({**d, "training": training}), ExecutionSpec.from_dict(how)


def _optional(help: str) -> Any:
    """An optional file of a job (None: not written or not read)."""
    return field(default=None, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class TrainJob:
    """The files of one training job. The checkpoint directory lies outside Snakemake's outputs
    (which a failed job loses), so that a killed job resumes; the optional outputs are the
    per-pair score dumps of dualrank.training.snapshots."""

    groups: str = field(metadata={"help": "training groups (groups.parquet)"})
    corpus: str = field(metadata={"help": "corpus.parquet"})
    queries: str = field(metadata={"help": "the training queries (queries.parquet)"})
    valid_candidates: str = field(metadata={"help": "run.parquet: the candidates validation re-ranks"})
    valid_queries: str = field(metadata={"help": "the valid queries (queries.parquet)"})
    valid_qrels: str = field(metadata={"help": "the valid qrels (qrels.parquet)"})
    checkpoint_dir: str = field(metadata={"help": "where the checkpoint lives while the job runs"})
    model_out: str = field(metadata={"help": "the trained model's directory"})
    curve_out: str = field(metadata={"help": "curve.parquet: loss, train and valid metrics per evaluation"})
    summary_out: str = field(metadata={"help": "train.json: the output model's metrics and the spec"})
    tokenizer: str | None = _optional("the trained WordPiece vocabulary of an `init` encoder")
    pretrained: str | None = _optional("the backbone `dualrank pretrain` wrote for an encoder with `pretrain`")
    snapshots_out: str | None = _optional(
        "snapshots.parquet: valid scores at init, training.snapshot_steps and the last step (Figure 7)")
    train_scores_out: str | None = _optional(
        "train-scores.parquet: the final model's scores of the train-eval groups' documents (Figure 5)")
    # The train MRR@10 set (dualrank.data.splits): without it, train MRR@10 falls back to ranking
    # the documents of training.train_eval_groups of the run's own groups.
    train_eval_candidates: str | None = _optional(
        "run.parquet: the train-eval split's candidates that train MRR@10 re-ranks (BM25's)")
    train_eval_queries: str | None = _optional("the train-eval queries (queries.parquet)")
    train_eval_qrels: str | None = _optional(
        "the train-eval qrels (qrels.parquet): the training labels of those queries")
    # Train MRR@10 at every evaluation is a learning curve's (Figure 4); the other results read
    # only the output model's, and at paper scale each scoring re-ranks 1,000 x 1,000 pairs.
    train_mrr_once: bool = field(default=False, metadata={
        "help": "score train MRR@10 once, for the output model, not at every evaluation "
                "(a run whose learning curve no result draws)"})
