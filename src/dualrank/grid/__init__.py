"""The experiment grid as plain functions of the config: the one place that says which runs a
table needs, where each lives and what defines it. Snakemake's common.smk calls these; they
import neither torch nor Snakemake, so the DAG builds fast and the logic is unit-tested.

A run is (dataset, arch, encoder, loss variant, seed) and lives at
``{results}/runs/{dataset}/{arch}-{encoder}/{loss}/seed{seed}``; the BM25 baseline at
``{results}/runs/{dataset}/bm25``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dualrank.spec import (EncoderSpec, ExecutionSpec, LossSpec, TrainingSpec, TrainSpec,
                           split_execution)

# Losses trained on labels alone (no teacher scores): their groups come straight from the
# labelled pairs, so they can train before any teacher exists (the CA teacher itself).
LABEL_ONLY_LOSSES = {"one_hot", "focal"}
# Losses the paper trains on the triplet data when K = 2 (§5 Baselines, C.9, C.10): one example
# per triple. M3SE and softmax CE take a query's top-K group, K = 2 included (Table 6, C.7).
TRIPLET_LOSSES = {"one_hot", "focal", "mse", "margin_mse", "rankdistil_b"}


@dataclass(frozen=True)
class Run:
    dataset: str
    arch: str
    encoder: str = ""
    loss: str = ""
    seed: int = 0

    def path(self, results: str) -> str:
        if self.arch == "bm25":
            return f"{results}/runs/{self.dataset}/bm25"
        return f"{results}/runs/{self.dataset}/{self.arch}-{self.encoder}/{self.loss}/seed{self.seed}"


def data(config: dict, dataset: str, name: str) -> str:
    return f"{config['data_dir']}/{dataset}/{name}"


def is_distilled(config: dict, loss: str) -> bool:
    return config["losses"][loss]["loss"] not in LABEL_ONLY_LOSSES


def loss_variant(config: dict, dataset: str, loss: str) -> dict:
    """The loss variant ``losses.<loss>`` as a dataset's runs train it: overlaid by the dataset's
    ``datasets.<dataset>.losses.<loss>`` (its ``training`` keys merged key by key), e.g. NQ's
    one-hot models take 1 positive + 19 BM25 negatives (K = 20, Appendix B) where MS MARCO's
    train on triplets (K = 2, §5)."""
    variant = config["losses"][loss]
    over = config["datasets"][dataset].get("losses", {}).get(loss, {})
    if not over:
        return variant
    training = {**variant.get("training", {}), **over.get("training", {})}
    return {**variant, **over, **({"training": training} if training else {})}


def groups_path(config: dict, dataset: str, loss: str) -> str:
    """A triplet loss at K = 2: one group per training triple (``{kind}-triples``,
    dualrank.pairs.triples; §5); else each query's top-K group (``{kind}-k{K}``)."""
    k = loss_variant(config, dataset, loss)["k"]
    kind = "teacher" if is_distilled(config, loss) else "labels"
    triples = k == 2 and config["losses"][loss]["loss"] in TRIPLET_LOSSES
    return data(config, dataset, f"groups/{kind}-{'triples' if triples else f'k{k}'}.parquet")


def triplet_negatives(config: dict, dataset: str) -> int | None:
    """At most this many negatives per query in the triples built from a dataset's pairs (NQ's
    single-negative models: 1, "a single BM-25 negative", Appendix B); None: every negative."""
    return config["datasets"][dataset].get("triplet_negatives")


def teacher_run(config: dict, dataset: str) -> Run:
    t = config["datasets"][dataset]["teacher"]
    return Run(dataset, "ca", t["encoder"], t["variant"], t["seed"])


# Scheduling priorities (Snakemake `priority`): the order in which ready jobs take free cores,
# which changes no result. Jobs that many others wait for go first: a dataset's CA teacher and
# its scoring gate every distilled run, BM25 on the splits training reads gates every training
# run; evaluations and reports take what is left. On 2 cores the demo otherwise left a
# teacher's BM25 run, and one CA teacher, to the end of the queue.
GATE, TRAINING, REST = 20, 10, 0


def train_priority(config: dict, run: Run) -> int:
    t = config["datasets"][run.dataset]["teacher"]
    return GATE if t["source"] == "ca" and run == teacher_run(config, run.dataset) else TRAINING


def bm25_priority(config: dict, dataset: str, split: str) -> int:
    """Training's splits (train, valid, train-eval) before the evaluated ones (dev, dl19)."""
    training = {"train", TRAIN_EVAL, config["datasets"][dataset]["valid_split"]}
    return TRAINING if split in training else REST


def _training(config: dict, dataset: str) -> dict:
    return {**config["training"], **config["datasets"][dataset].get("training", {})}


def train_spec(config: dict, run: Run) -> dict:
    """Everything that defines a training job's result (its Snakemake params): the
    ``to_dict`` of a :class:`~dualrank.spec.TrainSpec` whose encoder, loss and training are checked.

    The loss variant is :func:`loss_variant` (the dataset's overrides applied). Training keys:
    ``training``, overlaid by the dataset's ``training``, overlaid by the loss variant's
    ``training`` (a variant such as Table 9's "increased embedding dropout" or Table
    12's "with in-batch and uniform negatives" is a loss plus training keys of its own). The
    execution keys (:class:`~dualrank.spec.ExecutionSpec`) stay out: the rule passes them as
    resources, so that changing them reruns nothing."""
    variant = loss_variant(config, run.dataset, run.loss)
    training, _ = split_execution({**_training(config, run.dataset), **variant.get("training", {})})
    spec = TrainSpec(arch=run.arch, k=variant["k"], seed=run.seed,
                     encoder=EncoderSpec.from_dict(config["encoders"][run.encoder], f"encoders.{run.encoder}"),
                     loss=LossSpec.from_variant(variant, f"losses.{run.loss}"),
                     training=TrainingSpec.from_dict(training))
    return spec.to_dict()


def pretrain_spec(config: dict, dataset: str, encoder: str) -> dict | None:
    """The spec of ``dualrank pretrain`` for an encoder with a ``pretrain`` section (checked), the
    dataset's training lengths beside it; None for an encoder that is not pre-trained here."""
    spec = EncoderSpec.from_dict(config["encoders"][encoder], f"encoders.{encoder}")
    if spec.pretrain is None:
        return None
    t = _training(config, dataset)
    return {"encoder": spec.to_dict(), "query_length": t["query_length"], "passage_length": t["passage_length"]}


def train_execution(config: dict, dataset: str) -> dict:
    """``checkpoint_every`` (default: eval_every) and ``processes`` (default 1) of a dataset's runs."""
    t = _training(config, dataset)
    how = ExecutionSpec.from_dict(split_execution(t)[1])
    return {"checkpoint_every": how.checkpoint_every or t["eval_every"], "processes": how.processes}


CANDIDATE_SOURCES = ("official", "bm25", "mixed")


def candidates_path(config: dict, dataset: str, split: str, source: str) -> str:
    """``official``: shipped with the data; ``bm25``: our Lucene top-depth; ``mixed``: NQ-style
    dev sets (positives, BM25 hard negatives and random negatives)."""
    return data(config, dataset, f"{source}-{split}.parquet")


def validation_files(config: dict, dataset: str) -> dict[str, str]:
    """Early stopping's set of every run of ``dataset``: the ``valid_split``'s queries, qrels and
    candidates (its evaluation's candidates if the split is also evaluated, else BM25's). Under
    config.yaml a held-out split that no result reports (dualrank.data.splits)."""
    valid = config["datasets"][dataset]["valid_split"]
    source = config["datasets"][dataset]["evaluations"].get(valid, {}).get("candidates", "bm25")
    return {"valid_candidates": candidates_path(config, dataset, valid, source),
            "valid_queries": data(config, dataset, f"queries-{valid}.parquet"),
            "valid_qrels": data(config, dataset, f"qrels-{valid}.parquet")}


TRAIN_EVAL = "train-eval"


def train_eval_files(config: dict, dataset: str) -> dict[str, str]:
    """The train MRR@10 set of every run of ``dataset`` (config ``train_eval``): the train-eval
    split's queries and qrels and BM25's candidates for them, the same files for every model."""
    return {"train_eval_candidates": candidates_path(config, dataset, TRAIN_EVAL, "bm25"),
            "train_eval_queries": data(config, dataset, f"queries-{TRAIN_EVAL}.parquet"),
            "train_eval_qrels": data(config, dataset, f"qrels-{TRAIN_EVAL}.parquet")}


def retrieval_runs(config: dict) -> set[Run]:
    """Runs some result shows a retrieval figure for: only these search the whole corpus (and
    build a FAISS index with ``index.persistent``; a flat index of MS MARCO is ~27 GB)."""
    out = set()
    modes = {ds: {n: e["mode"] for n, e in d["evaluations"].items()} for ds, d in config["datasets"].items()}
    for col in config["table1"]["columns"]:
        if modes[col["dataset"]][col["evaluation"]] == "retrieval":
            out |= {r for r in table_runs(config) if r.dataset == col["dataset"]}
    for name, e in config.get("experiments", {}).items():
        if any(modes[e["dataset"]][ev] == "retrieval" for ev in e["evaluations"]):
            out |= set(experiment_runs(config, name))
    return out


def curve_runs(config: dict) -> set[Run]:
    """Runs some result draws a learning curve of (kind ``learning_curve``, Figure 4): only these
    measure train MRR@10 at every evaluation; the others once, for the output model."""
    return {r for name, e in config.get("experiments", {}).items() if e["kind"] == "learning_curve"
            for r in experiment_runs(config, name)}


def faiss_spec(config: dict) -> dict:
    """The FAISS index of config ``index`` (factory, search, train_size), without how the
    pipeline uses it (persistent, chunk_size): what ``dualrank index`` builds."""
    return {k: v for k, v in config["index"].items() if k not in ("persistent", "chunk_size")}


def evaluations(config: dict, dataset: str, arch: str, run: Run | None = None,
                retrieval: set[Run] | None = None) -> list[dict]:
    """The evaluations a run takes part in: every re-ranking one of its dataset, and retrieval
    for a DE run that a result needs it for (CA and ColBERT cannot retrieve). Without ``run``,
    every evaluation the architecture can take part in. ``retrieval``: retrieval_runs(config),
    when the caller has it already (the DAG asks for every run's evaluations)."""
    if run is not None and arch != "bm25" and retrieval is None:
        retrieval = retrieval_runs(config)
    out = []
    for name, e in config["datasets"][dataset]["evaluations"].items():
        split = e.get("split", name)
        if e["mode"] == "retrieval" and (arch in ("ca", "colbert") or (
                run is not None and arch != "bm25" and run not in retrieval)):
            continue
        spec = {"name": name, "mode": e["mode"], "split": split, "rel_level": e["rel_level"],
                "depth": e["depth"], "queries": data(config, dataset, f"queries-{split}.parquet"),
                "qrels": data(config, dataset, f"qrels-{split}.parquet")}
        if arch == "bm25":
            # The BM25 row is our Lucene run itself, for re-ranking and retrieval alike (the
            # paper's equal BM25 columns); official candidate files carry no BM25 scores.
            spec["candidates"] = candidates_path(config, dataset, split, "bm25")
            spec["mode"] = "rerank"
        elif e["mode"] == "rerank":
            spec["candidates"] = candidates_path(config, dataset, split, e.get("candidates", "bm25"))
        out.append(spec)
    return out


def table_runs(config: dict, table: str = "table1") -> list[Run]:
    runs = []
    datasets = {c["dataset"] for c in config[table]["columns"]}
    for row in config[table]["rows"]:
        for ds in sorted(datasets):
            if row["arch"] == "bm25":
                runs.append(Run(ds, "bm25"))
            else:
                runs += [Run(ds, row["arch"], row["encoder"], row["loss"], s) for s in config["seeds"]]
    return runs


# -- Tables 2-12 and Figures 1-8 (config key `experiments`) --------------------------------------

def encoder_shape(config: dict, encoder: str) -> dict:
    """Layers and hidden size of a named encoder (the x-axis of Figures 1 and 3): the demo's
    `init` shape, else the name's bert-L-H pattern (Turc et al.), else BERT-base's 12 x 768."""
    init = EncoderSpec.from_dict(config["encoders"][encoder], f"encoders.{encoder}").init
    if init:
        return {"layers": init.layers, "hidden": init.hidden}
    parts = encoder.split("-")
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return {"layers": int(parts[1]), "hidden": int(parts[2])}
    return {"layers": 12, "hidden": 768}


def experiment_cells(config: dict, name: str) -> list[dict]:
    """Every (row, method, seed) of an experiment with its run, in the config's order."""
    e = config["experiments"][name]
    seeds = e.get("seeds", config["seeds"])
    if "rows" in e:
        entries = [(r["name"], r["name"], r) for r in e["rows"]]
    else:
        # A row per encoder in Table 2 (CA and DE side by side); elsewhere the method is the
        # row, the table row or the figure's line (its x-axis, Figures 1 and 3, the encoder).
        by_encoder = e["kind"] == "table2"
        entries = [(enc if by_encoder else label, label, {**m, "encoder": m.get("encoder", enc)})
                   for enc in e["encoders"] for label, m in e["methods"].items()]
    cells = []
    for row, method, r in entries:
        for s in seeds:
            run = Run(e["dataset"], r["arch"], r["encoder"], r["loss"], s)
            cells.append({"row": row, "method": method, "arch": run.arch, "encoder": run.encoder,
                          "loss": run.loss, "seed": s, "dir": run.path(config["results_dir"]),
                          **encoder_shape(config, run.encoder)})
    return cells


def experiment_runs(config: dict, name: str) -> list[Run]:
    e = config["experiments"][name]
    return list(dict.fromkeys(Run(e["dataset"], c["arch"], c["encoder"], c["loss"], c["seed"])
                              for c in experiment_cells(config, name)))


# Every file a renderer may read from a run directory: the training job's outputs and the
# evaluate job's metrics.json (written after its {evaluation}.run.parquet files). All are
# outputs of the run's own two jobs, so depending on all of them adds no job to any result.
RUN_FILES = ("metrics.json", "train.json", "curve.parquet", "snapshots.parquet", "train-scores.parquet")


def experiment_inputs(config: dict, name: str) -> list[str]:
    return [f"{run.path(config['results_dir'])}/{f}" for run in experiment_runs(config, name) for f in RUN_FILES]


def experiment_layout(config: dict, name: str, config_files=()) -> dict:
    e = config["experiments"][name]
    cells = experiment_cells(config, name)
    return {"name": name, "kind": e["kind"], "dataset": e["dataset"],
            "data_dir": f"{config['data_dir']}/{e['dataset']}",
            "compare_to_paper": config["report"]["compare_to_paper"],
            "evaluations": e["evaluations"], "cells": cells,
            "params": e.get("params", {}),
            "title": name.replace("table", "Table ").replace("figure", "Figure "),
            "provenance": provenance(config, [c["encoder"] for c in cells], e.get("seeds", config["seeds"]),
                                     config_files)}


def preset_name(config_files) -> str:
    """The preset a run uses, named by the overlays merged over config.yaml ("paper": none)."""
    names = [os.path.splitext(os.path.basename(str(f)))[0] for f in config_files]
    names = [n for n in names if n != "config"]
    return " + ".join(names) or "paper"


def provenance(config: dict, encoders, seeds, config_files=()) -> dict:
    """What a table or figure footer names (dualrank.report.provenance): the preset, the config
    files merged in order, the seeds and each encoder's trained layers x width."""
    files = ["config.yaml"] + [str(f) for f in config_files]
    return {"preset": preset_name(config_files), "config_files": files, "seeds": list(seeds),
            "encoders": {e: encoder_shape(config, e) for e in dict.fromkeys(encoders)}}


def result_files(config: dict) -> list[str]:
    """Every table and figure: what `results/all` stands for."""
    res = config["results_dir"]
    out = [f"{res}/table1.csv", f"{res}/table1.md"]
    for name in config.get("experiments", {}):
        exts = ("png", "pdf") if name.startswith("figure") else ("csv", "md")
        out += [f"{res}/{name}.{x}" for x in exts]
    return out


# -- Table 1 (config key `table1`) ----------------------------------------------------------------

def table1_inputs(config: dict) -> list[str]:
    """The metrics.json of every Table 1 run (the BM25 rows' too), in table_runs order."""
    return [f"{run.path(config['results_dir'])}/metrics.json" for run in table_runs(config)]


def table1_layout(config: dict, config_files=()) -> dict:
    """Table 1's ``--layout``: the ``table1`` block (columns, rows) plus the seeds averaged over,
    the results folder the runs live in and whether to print the paper's values beside ours."""
    encoders = [r["encoder"] for r in config["table1"]["rows"] if r["arch"] != "bm25"]
    return {**config["table1"], "seeds": config["seeds"], "results": config["results_dir"],
            "compare_to_paper": config["report"]["compare_to_paper"],
            "provenance": provenance(config, encoders, config["seeds"], config_files)}


def caption_facts(config: dict, name: str, config_files=()) -> str:
    """The line a report caption ends with: the preset, encoder sizes and seeds of this result."""
    from dualrank.report.provenance import caption

    layout = table1_layout(config, config_files) if name == "table1" else experiment_layout(config, name, config_files)
    return caption(layout["provenance"])


def experiment_names(config: dict, prefix: str) -> list[str]:
    """The experiments named ``{prefix}N`` ("table" or "figure"), in config order: the names the
    table and the figure rule build."""
    return [n for n in config.get("experiments", {}) if n.startswith(prefix)]


def alternatives(names) -> str:
    """A regex (a wildcard constraint) matching exactly these names; nothing when there are none."""
    import re

    return "|".join(map(re.escape, names)) if names else "(?!x)x"


# The config checks (common.smk runs them first) live beside the grid they check.
from dualrank.grid.checks import check_config, check_resources  # noqa: E402,F401  (after the grid)
