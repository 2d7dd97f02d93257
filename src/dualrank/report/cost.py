"""What a target will cost before it runs (``dualrank plan``): GPU-hours, disk and memory of
the jobs a Snakemake dry run lists, estimated from the config alone (no torch, no data).

- Model FLOPs: ``P`` is an encoder's non-embedding matmul parameters, ``L (4 H^2 + 2 H F)``
  (F = 4H unless the encoder's ``init`` says); a token costs ``6 P`` in training (forward and
  backward) and ``2 P`` in encoding or scoring, every sequence counted at its configured
  length plus its special tokens (an upper bound: real passages are often shorter). Training:
  ``max_steps`` batches of ``batch_size`` groups (a query and K passages for a DE or ColBERT,
  K joint pairs for a CA) plus ``uniform_negatives`` passages per step; the validation of
  every ``eval_every`` steps (``valid_queries`` x ``valid_depth``) and the train-eval scoring
  (``train_eval.queries`` x ``bm25.depth``: once, at every evaluation for a run a learning
  curve draws, grid.curve_runs); all to max_steps, as if early stopping never
  stopped a run. Evaluation: every re-rank evaluation's queries x depth pairs, and for
  retrieval the whole corpus and the queries. A CA teacher scores the training pairs.
- GPU-hours: FLOPs / (``plan.peak_tflops`` x ``plan.mfu``).
- Disk: the upstream downloads' sizes (config ``downloads``), each trained model in fp32
  (its parameters with the embeddings), each run file at ``RUN_ROW_BYTES`` a row, and with
  ``index.persistent`` each index (passages x H x 4 bytes). Stages not listed here write
  data tables whose size this module does not model.
- Memory: the ``mem_mb`` each job asks for (config ``resources``); for streamed retrieval the
  bound of retrieval/stream.py (one chunk of embeddings plus the queries' best 2k lists); and
  the peak RSS the scale rehearsal's fits (``python -m tools.bench scale``, docs/scale.md; the
  fits in ``reference/scale-fits.json``) give at the dataset's ``passages`` as a fraction of
  the real corpus: for training and evaluation besides the model and the batch (it rehearsed
  a 16-wide encoder).

Row counts come from ``plan.datasets`` (passages, queries per split, training pairs).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dualrank import grid

RUN_ROW_BYTES = 16  # a Parquet run row (ids dictionary-encoded, fp32 score, int32 rank), compressed
SPECIAL = 2  # [CLS] and [SEP] around a sequence (a CA pair has three)
VOCAB_POSITIONS = 512  # BERT's position embeddings


@dataclass
class Job:
    rule: str
    wildcards: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)


@dataclass
class Cost:
    flops: float = 0.0
    disk: float = 0.0  # bytes
    notes: list[str] = field(default_factory=list)


def shape(config: dict, encoder: str) -> dict:
    s = grid.encoder_shape(config, encoder)
    init = config["encoders"][encoder].get("init") or {}
    return {**s, "intermediate": init.get("intermediate", 4 * s["hidden"])}


def matmul_params(s: dict) -> float:
    return s["layers"] * (4 * s["hidden"] ** 2 + 2 * s["hidden"] * s["intermediate"])


def all_params(config: dict, s: dict) -> float:
    vocab = config.get("tokenizer", {}).get("vocab_size", 30522)
    return matmul_params(s) + (vocab + VOCAB_POSITIONS) * s["hidden"]


def _sizes(config: dict, dataset: str) -> dict:
    try:
        return config["plan"]["datasets"][dataset]
    except KeyError:
        raise grid._error(f"config key plan.datasets.{dataset}: no sizes for dataset {dataset!r}") from None


def queries(config: dict, dataset: str, split: str) -> int:
    if split == "valid":
        return grid._training(config, dataset)["valid_queries"]
    if split == "train-eval":
        return config["train_eval"]["queries"]
    try:
        return _sizes(config, dataset)["queries"][split]
    except KeyError:
        raise grid._error(f"config key plan.datasets.{dataset}.queries.{split}: not given") from None


def pair_tokens(arch: str, t: dict) -> int:
    """Tokens of scoring one (query, passage) pair: one joint sequence for a CA, the passage and
    (counted per pair, an upper bound) the query for a DE or ColBERT."""
    q, p = t["query_length"], t["passage_length"]
    return q + p + 3 if arch == "ca" else q + p + 2 * SPECIAL


def train_cost(config: dict, w: dict, curve: bool = False) -> Cost:
    """``curve``: the run measures train MRR@10 at every evaluation (a learning curve's)."""
    ds, arch = w["dataset"], w["arch"]
    variant = grid.loss_variant(config, ds, w["loss"])
    t = {**grid._training(config, ds), **variant.get("training", {})}
    s = shape(config, w["encoder"])
    p = matmul_params(s)
    q_tok, p_tok = t["query_length"] + SPECIAL, t["passage_length"] + SPECIAL
    pair = t["query_length"] + t["passage_length"] + 3
    group = variant["k"] * pair if arch == "ca" else q_tok + variant["k"] * p_tok
    per_step = t["batch_size"] * group + t.get("uniform_negatives", 0) * p_tok
    train = 6 * p * t["max_steps"] * per_step
    evals = t["max_steps"] // t["eval_every"]
    train_evals = evals + 1 if curve else 1  # a curve's evaluations and its step 0
    scoring = evals * t["valid_queries"] * t["valid_depth"] \
        + train_evals * config["train_eval"]["queries"] * config["bm25"]["depth"]
    flops = train + 2 * p * scoring * pair_tokens(arch, t)
    return Cost(flops, 4 * all_params(config, s))


def evaluate_cost(config: dict, w: dict, retrieval_runs) -> Cost:
    ds, arch = w["dataset"], w["arch"]
    run = grid.Run(ds, arch, w["encoder"], w["loss"], int(w["seed"]))
    t = grid._training(config, ds)
    s = shape(config, w["encoder"])
    p = matmul_params(s)
    cost = Cost()
    for e in grid.evaluations(config, ds, arch, run, retrieval_runs):
        n = queries(config, ds, e["split"])
        cost.disk += n * e["depth"] * RUN_ROW_BYTES
        if e["mode"] == "retrieval":
            passages = _sizes(config, ds)["passages"]
            cost.flops += 2 * p * (passages * (t["passage_length"] + SPECIAL) + n * (t["query_length"] + SPECIAL))
        else:
            cost.flops += 2 * p * n * e["depth"] * pair_tokens(arch, t)
    return cost


def teacher_cost(config: dict, w: dict) -> Cost:
    teacher = config["datasets"][w["dataset"]]["teacher"]
    t = grid._training(config, w["dataset"])
    pairs = _sizes(config, w["dataset"])["train_pairs"]
    p = matmul_params(shape(config, teacher["encoder"]))
    return Cost(2 * p * pairs * pair_tokens("ca", t), pairs * RUN_ROW_BYTES)


def index_cost(config: dict, w: dict) -> Cost:
    t = grid._training(config, w["dataset"])
    s = shape(config, w["encoder"])
    passages = _sizes(config, w["dataset"])["passages"]
    return Cost(2 * matmul_params(s) * passages * (t["passage_length"] + SPECIAL), passages * (4 * s["hidden"] + 12))


def download_cost(config: dict, w: dict) -> Cost:
    """The file's configured size (the download's file is its URL's last segment)."""
    specs = config.get("downloads", {}).get(w.get("group"), {}).values()
    size = next((s.get("size") for s in specs if s["url"].rsplit("/", 1)[-1] == w.get("file")), None)
    return Cost(0.0, float(size or 0), [] if size else [f"size of download {w.get('group')}/{w.get('file')} unknown"])


COSTS = {"teacher_score": teacher_cost, "index": index_cost, "download": download_cost}
GPU_RULES = ("train", "evaluate", "teacher_score", "index")


def run_of(w: dict) -> grid.Run:
    """The run of a train or evaluate job's wildcards."""
    return grid.Run(w["dataset"], w["arch"], w["encoder"], w["loss"], int(w["seed"]))


def job_cost(config: dict, job: Job, retrieval_runs, curve_runs=frozenset()) -> Cost | None:
    """The job's estimate, or None for a rule this module does not model."""
    if job.rule == "evaluate":
        return evaluate_cost(config, job.wildcards, retrieval_runs)
    if job.rule == "train":
        return train_cost(config, job.wildcards, run_of(job.wildcards) in curve_runs)
    fn = COSTS.get(job.rule)
    return fn(config, job.wildcards) if fn else None


def gpu_hours(config: dict, flops: float) -> float:
    plan = config["plan"]
    return flops / (plan["peak_tflops"] * 1e12 * plan["mfu"]) / 3600


def stream_memory_mb(config: dict, dataset: str, hidden: int, n_queries: int, depth: int) -> float:
    """Streamed retrieval's bound: a chunk's fp32 embeddings twice (the encoder's output and the
    chunk's FAISS copy) and each query's best 2 x depth (fp32 score, int64 row), twice while merging."""
    return (2 * config["index"]["chunk_size"] * hidden * 4 + 2 * n_queries * 2 * depth * 12) / 2**20


SCALE_FITS = Path(__file__).with_name("reference") / "scale-fits.json"
# A rule -> the rehearsal's stage (tools/bench/scale.py names them by benchmark folder).
REHEARSAL_STAGE = {"groups": "aggregate"}


def load_scale_fits(path: Path = SCALE_FITS) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def job_dataset(job: Job) -> str | None:
    w = job.wildcards
    if job.rule.startswith("prepare_"):
        return job.rule.removeprefix("prepare_")
    if "group" in w:  # download / extract: the teacher's files are MS MARCO's
        return "msmarco" if w["group"] == "teacher" else w["group"]
    return w.get("dataset")


def rehearsal_rss_mb(config: dict, job: Job, fits: dict | None) -> float | None:
    """The job's peak RSS from the rehearsal's fit ``a + b f^e`` of its stage at
    ``f`` = plan.datasets' passages / the real corpus's (a flat stage: its linear bound)."""
    ds = job_dataset(job)
    stage = "prepare" if job.rule.startswith("prepare_") else REHEARSAL_STAGE.get(job.rule, job.rule)
    stage = f"{stage}/{ds}/{job.wildcards.get('split')}" if job.rule == "bm25_run" else f"{stage}/{ds}"
    fit = (fits or {}).get("stages", {}).get(stage, {}).get("rss_mb")
    full = (fits or {}).get("sizes_at_1", {}).get(f"{ds}_passages")
    passages = config.get("plan", {}).get("datasets", {}).get(ds, {}).get("passages")
    if not fit or fit.get("b") is None or not full or not passages:
        return None
    if fit.get("edge"):  # the exponent sits at the fit's grid edge: the points do not determine it
        return math.nan
    e = 1.0 if fit.get("flat") else fit["e"]
    return fit["a"] + fit["b"] * (passages / full) ** e


def summarise(config: dict, jobs: list[Job]) -> dict:
    """Per rule: jobs, FLOPs, GPU-hours, disk, memory asked (mem_mb), and the notes."""
    retrieval, curve = grid.retrieval_runs(config), grid.curve_runs(config)
    fits = load_scale_fits()
    out = defaultdict(lambda: {"jobs": 0, "flops": 0.0, "disk": 0.0, "mem_mb": 0, "modelled": True, "notes": set(),
                               "rss_mb": None})
    for job in jobs:
        r = out[job.rule]
        r["jobs"] += 1
        r["mem_mb"] = max(r["mem_mb"], int(job.resources.get("mem_mb", 0) or 0))
        rss = rehearsal_rss_mb(config, job, fits)
        if rss is not None:  # NaN (not determined) wins: a rule's figure is its worst job's
            r["rss_mb"] = rss if r["rss_mb"] is None or math.isnan(rss) else max(r["rss_mb"], rss)
        c = job_cost(config, job, retrieval, curve)
        if c is None:
            r["modelled"] = False
            continue
        r["flops"] += c.flops
        r["disk"] += c.disk
        r["notes"].update(c.notes)
    for r in out.values():
        r["gpu_hours"] = gpu_hours(config, r["flops"])
    return dict(out)


def per_result(config: dict, jobs: list[Job]) -> dict[str, dict]:
    """GPU-hours and disk of each result's runs (training and evaluation jobs in the DAG); a run
    shared by several results counts in each."""
    retrieval, curve = grid.retrieval_runs(config), grid.curve_runs(config)
    by_run = defaultdict(lambda: Cost())
    for job in jobs:
        if job.rule in ("train", "evaluate"):
            run = run_of(job.wildcards)
            c = job_cost(config, job, retrieval, curve)
            by_run[run].flops += c.flops
            by_run[run].disk += c.disk
    results = {"table1": grid.table_runs(config)}
    results.update({name: grid.experiment_runs(config, name) for name in config.get("experiments", {})})
    out = {}
    for name, runs in results.items():
        mine = [by_run[r] for r in set(runs) if r in by_run]
        if mine:
            out[name] = {"runs": len(mine), "gpu_hours": gpu_hours(config, sum(c.flops for c in mine)),
                         "disk": sum(c.disk for c in mine)}
    return out
