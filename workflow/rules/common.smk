# Input functions and paths shared by the rules. The grid logic (the config checks too) lives in
# dualrank.grid (unit-tested, no torch import) so that a dry run of the paper grid stays fast.
import json
import os
from pathlib import Path

from snakemake.logging import logger

from dualrank import grid
from dualrank.grid import Run
from dualrank.report import targets

DATA = config["data_dir"]
RESULTS = config["results_dir"]
RUN = "{dataset}/{arch}-{encoder}/{loss}/seed{seed}"
DATASETS = sorted(config["datasets"])


# A wildcard constraint matching exactly these names.
_alternatives = grid.alternatives


def datasets_with(key, *values):
    return _alternatives([d for d in DATASETS if config["datasets"][d][key] in values])


# What the schema cannot say: names that must name another entry (dualrank.grid.check_config);
# then what the config cannot say alone: the encoders' files here and the FAISS index type.
grid.check_config(config)
for _warning in grid.check_resources(config):
    logger.warning(f"warning: {_warning}")


def run_of(w):
    return Run(w.dataset, w.arch, w.encoder, w.loss, int(w.seed))


def resources(kind):
    return config["resources"][kind]


def runtime(kind):
    """Minutes for a job of this kind, times the attempt: a job retried after hitting its SLURM
    time limit asks for more (the retries are the profile's)."""
    minutes = config["resources"][kind]["runtime"]
    return lambda wildcards, attempt: minutes * attempt


# Rules that may use GPUs (train, index, evaluate, teacher_score) run their command through
# `dualrank gpu --gpus {resources.gpu} --`: it gives the job exactly the devices its gpu resource
# counts (CUDA_VISIBLE_DEVICES), none when it asks for none.


def tokenizer_dir(dataset, encoder):
    # Pre-trained encoders bring their own vocabulary; `init` encoders use the trained one.
    return f"{DATA}/{dataset}/tokenizer" if config["encoders"][encoder].get("init") else None


def train_inputs(w):
    inputs = {
        "groups": grid.groups_path(config, w.dataset, w.loss),
        "corpus": f"{DATA}/{w.dataset}/corpus.parquet",
        "queries": f"{DATA}/{w.dataset}/queries-train.parquet",
        **grid.validation_files(config, w.dataset),
        **grid.train_eval_files(config, w.dataset),
    }
    tok = tokenizer_dir(w.dataset, w.encoder)
    if tok:
        inputs["tokenizer"] = tok
    if grid.pretrain_spec(config, w.dataset, w.encoder):
        inputs["pretrained"] = f"{DATA}/{w.dataset}/pretrained/{w.encoder}"
    return inputs


def pretrain_spec(w):
    spec = grid.pretrain_spec(config, w.dataset, w.encoder)
    if spec is None:
        raise WorkflowError(f"encoders.{w.encoder} has no pretrain section: nothing to pre-train")
    return json.dumps(spec, sort_keys=True)


def train_spec(w):
    return json.dumps(grid.train_spec(config, run_of(w)), sort_keys=True)


# The runs whose results show retrieval (they alone search the corpus, and build an index when
# config index.persistent asks for one); computed once per DAG.
RETRIEVAL_RUNS = grid.retrieval_runs(config)
# The runs whose learning curve a result draws: they alone measure train MRR@10 at every evaluation.
CURVE_RUNS = grid.curve_runs(config)


def eval_run(w):
    return run_of(w) if hasattr(w, "arch") else None


def train_execution(w):
    return grid.train_execution(config, w.dataset)


def eval_specs(w, run_dir):
    arch = getattr(w, "arch", "bm25")
    specs = grid.evaluations(config, w.dataset, arch, eval_run(w), RETRIEVAL_RUNS)
    for s in specs:
        s["run_out"] = f"{run_dir}/{s['name']}.run.parquet"
    return specs


def evaluate_inputs(w):
    arch = getattr(w, "arch", "bm25")
    specs = grid.evaluations(config, w.dataset, arch, eval_run(w), RETRIEVAL_RUNS)
    inputs = {"corpus": f"{DATA}/{w.dataset}/corpus.parquet"}
    for s in specs:
        inputs[f"{s['name']}_queries"] = s["queries"]
        inputs[f"{s['name']}_qrels"] = s["qrels"]
        if "candidates" in s:
            inputs[f"{s['name']}_candidates"] = s["candidates"]
    if arch != "bm25":
        inputs["model"] = f"{RESULTS}/runs/{RUN}/model".format(**w)
        # Retrieval streams the corpus, or searches an index the user asked to keep.
        if config["index"]["persistent"] and any(s["mode"] == "retrieval" for s in specs):
            inputs["index"] = f"{RESULTS}/runs/{RUN}/index".format(**w)
    return inputs


def teacher_model(w):
    return os.path.join(grid.teacher_run(config, w.dataset).path(RESULTS), "model")


def contract_files(ds, splits, extra=()):
    """The contract tables a data rule writes for a dataset."""
    return [f"{DATA}/{ds}/corpus.parquet"] + [
        f"{DATA}/{ds}/{kind}-{s}.parquet" for s in splits for kind in ("queries", "qrels")
    ] + [f"{DATA}/{ds}/{x}" for x in extra]


def out_dir(w, output):
    return os.path.dirname(output[0])


def label_pairs(w):
    # With published teacher scores the scored triples are also the labelled pairs.
    published = config["datasets"][w.dataset]["teacher"]["source"] == "published"
    return f"{DATA}/{w.dataset}/{'teacher' if published else 'train'}-pairs.parquet"


def triple_source(w):
    """The triples of a dataset's K = 2 groups: the published teacher's own triples, else the
    labelled (for label-only groups) or teacher-scored pairs, made into triples."""
    if config["datasets"][w.dataset]["teacher"]["source"] == "published":
        return f"{DATA}/{w.dataset}/teacher-triples.parquet"
    return label_pairs(w) if w.kind == "labels" else f"{DATA}/{w.dataset}/teacher-pairs.parquet"


def download_file(group, key):
    """The usable local file of a configured download: the archive member or the file itself."""
    spec = config["downloads"][group][key]
    # Readers stream .gz files directly; only tar members are extracted.
    if spec.get("member"):
        return f"{DATA}/downloads/{group}/{key}"
    return f"{DATA}/downloads/{group}/{os.path.basename(spec['url'])}"


def archive_of(w):
    spec = config["downloads"][w.group][w.key]
    return f"{DATA}/downloads/{w.group}/{os.path.basename(spec['url'])}"


def url_of(w):
    for spec in config["downloads"][w.group].values():
        if os.path.basename(spec["url"]) == w.file:
            return spec
    raise ValueError(f"no download in config key downloads.{w.group} has file name {w.file}")


# Tables 2-12 and Figures 1-8 (config `experiments`).
TABLES = grid.experiment_names(config, "table")
FIGURES = grid.experiment_names(config, "figure")


# The config files given on the command line, in merge order after config.yaml: every table
# and figure footer names them (dualrank.grid.provenance).
def _as_given(path):
    # Relative to the workflow when inside it (workflow/presets/demo.yaml), else as given.
    p, base = Path(path).resolve(), Path(workflow.basedir).resolve()
    return str(p.relative_to(base)) if p.is_relative_to(base) else str(path)


CONFIG_FILES = [_as_given(f) for f in workflow.overwrite_configfiles]


def experiment_layout(w):
    return json.dumps(grid.experiment_layout(config, w.name, CONFIG_FILES))


def table_layout(w):
    # With its paired tests' settings and baselines where config `significance` declares any
    # (dualrank.report.significance); the others' layouts, and so their jobs, stay as they were.
    return json.dumps(targets.table_layout(config, grid.experiment_layout(config, w.name, CONFIG_FILES)))


def caption_text(name):
    # `snakemake --report` does not expand wildcards in a caption path: result.rst prints this,
    # the result's own caption followed by what this run of it used (grid.caption_facts).
    with open(os.path.join(workflow.basedir, "workflow", "report", f"{name}.rst")) as f:
        caption = f.read().rstrip()
    return f"{caption}\n\n{grid.caption_facts(config, name, CONFIG_FILES)}\n"


def report_labels(name):
    # Zero-padded numbers: the report lists results in the paper's order (table2 before table10).
    from dualrank.report.provenance import report_labels

    return report_labels(name)
