"""The experiment grid as plain functions of the config: the one place that says which runs a
table needs, where each lives and what defines it. Snakemake's common.smk calls these; they
import neither torch nor Snakemake, so the DAG builds fast and the logic is unit-tested.

A run is (dataset, arch, encoder, loss variant, seed) and lives at
``{results}/runs/{dataset}/{arch}-{encoder}/{loss}/seed{seed}``; the BM25 baseline at
``{results}/runs/{dataset}/bm25``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Losses trained on labels alone (no teacher scores): their groups come straight from the
# labelled pairs, so they can train before any teacher exists (the CA teacher itself).
LABEL_ONLY_LOSSES = {"one_hot", "focal"}


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


def groups_path(config: dict, dataset: str, loss: str) -> str:
    v = config["losses"][loss]
    kind = "teacher" if is_distilled(config, loss) else "labels"
    return data(config, dataset, f"groups/{kind}-k{v['k']}.parquet")


def teacher_run(config: dict, dataset: str) -> Run:
    t = config["datasets"][dataset]["teacher"]
    return Run(dataset, "ca", t["encoder"], t["variant"], t["seed"])


# Training keys that say how a job runs, not what it computes: how often it checkpoints and
# over how many data-parallel processes. They stay out of the spec (the rule's params), so that
# changing them reruns nothing; the rule passes them as resources.
TRAIN_EXECUTION_KEYS = {"checkpoint_every": None, "processes": 1}


def _training(config: dict, dataset: str) -> dict:
    return {**config["training"], **config["datasets"][dataset].get("training", {})}


def train_spec(config: dict, run: Run) -> dict:
    """Everything that defines a training job's result (its Snakemake params)."""
    v = dict(config["losses"][run.loss])
    loss = {"name": v.pop("loss"), **{k: x for k, x in v.items() if k != "k"}}
    training = {k: x for k, x in _training(config, run.dataset).items() if k not in TRAIN_EXECUTION_KEYS}
    return {"arch": run.arch, "encoder": config["encoders"][run.encoder], "loss": loss,
            "k": config["losses"][run.loss]["k"], "seed": run.seed, "training": training}


def train_execution(config: dict, dataset: str) -> dict:
    """``checkpoint_every`` (default: eval_every) and ``processes`` (default 1) of a dataset's runs."""
    t = _training(config, dataset)
    out = {k: t.get(k, default) for k, default in TRAIN_EXECUTION_KEYS.items()}
    out["checkpoint_every"] = out["checkpoint_every"] or t["eval_every"]
    return out


CANDIDATE_SOURCES = ("official", "bm25", "mixed")


def candidates_path(config: dict, dataset: str, split: str, source: str) -> str:
    """``official``: shipped with the data; ``bm25``: our Lucene top-depth; ``mixed``: NQ-style
    dev sets (positives, BM25 hard negatives and random negatives)."""
    return data(config, dataset, f"{source}-{split}.parquet")


def evaluations(config: dict, dataset: str, arch: str) -> list[dict]:
    """The evaluations a run of ``arch`` takes part in (CA and ColBERT cannot retrieve)."""
    out = []
    for name, e in config["datasets"][dataset]["evaluations"].items():
        split = e.get("split", name)
        if e["mode"] == "retrieval" and arch in ("ca", "colbert"):
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
