"""``python -m tools.bench scale --fractions 0.003,0.01,0.03``: the scale rehearsal.

For each fraction it writes MS MARCO and NQ in their upstream formats at that fraction of the
real sizes (:mod:`tools.bench.scale_data`), serves them on the loopback interface with
:mod:`tools.sample_server`, and runs the real-data preset's pipeline on them with real
Snakemake in a fresh copy of the workflow: downloads (md5-checked), extraction, prepare, BM25
index and searches, the T1 teacher import, aggregation into top-K groups, a few training steps
of a tiny dual encoder, its evaluation (re-ranking and streamed exact retrieval over the whole
corpus), and NQ's mixed candidates and BM25 evaluation. The download overlay is
``sample_server.preset`` (what workflow/presets/real-sample.yaml is generated from); the only
other keys (``REHEARSAL``) make the encoder tiny and the training short.

Each job's wall time and peak RSS come from its rule's ``benchmark:`` file, sampled every 0.5 s
(:mod:`tools.bench.snakemake_sampled`); a stage (a rule, or rules doing one thing, on one
dataset) adds its jobs' times and takes their largest peak. Its disk is the size of the
outputs its jobs wrote (Snakemake's metadata names each output's rule). One line per stage and
fraction is printed, then the fits (:mod:`tools.bench.scale_fit`: growth exponents,
extrapolations to fraction 1), and the final ``scale:`` line. ``--docs`` writes docs/scale.md,
docs/scale.png and the fits file that ``dualrank plan`` reads.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tools import sample_server
from tools.bench import scale_data, scale_fit

ROOT = Path(__file__).resolve().parents[2]
RUN = "de-bert-6-768/softmax_ce/seed0"  # a run of Table 1's retrieval column: its evaluation streams the corpus
TARGETS = [
    f"results/runs/msmarco/{RUN}/metrics.json",
    "results/runs/msmarco/bm25/metrics.json",
    "data/nq/groups/labels-k20.parquet",
    "results/runs/nq/bm25/metrics.json",
]
# The rehearsal's own keys over the downloads overlay: bert-6-768 made a 1-layer, 16-wide BERT
# (the demo's bert-2-128 shape) with its WordPiece vocabulary, trained 20 steps of softmax CE on the T1 teacher's
# top-20 groups, validating at depth 20; the evaluations are config.yaml's (dev and DL19 re-rank
# of the 1,000 official candidates, dev retrieval over the whole corpus, streamed).
REHEARSAL = {
    "encoders": {"bert-6-768": {"hf_id": None, "init": {"layers": 1, "hidden": 16, "heads": 1, "intermediate": 64}}},
    "tokenizer": {"vocab_size": 3000},
    "training": {"lr": 1.0e-3, "batch_size": 16, "max_steps": 20, "warmup_steps": 0, "eval_every": 10,
                 "patience": 2, "valid_queries": 50, "valid_depth": 20, "train_eval_groups": 50,
                 "snapshot_steps": [10], "checkpoint_every": 10},
}
# Benchmark folder (workflow/rules/*.smk) -> stage; rule -> stage for the outputs' sizes.
STAGE_OF_BENCH = {"data": "prepare", "teacher": "teacher_import", "groups": "aggregate"}
STAGE_OF_RULE = {"prepare_msmarco": "prepare", "prepare_nq": "prepare", "teacher_import": "teacher_import",
                 "groups": "aggregate", "groups_triples": "aggregate"}
DATASET_OF_GROUP = {"teacher": "msmarco"}


def overlay(port: int, manifest: dict) -> dict:
    """The config overlay of one fraction: the served downloads (sample_server.preset), NQ's
    valid split scaled with the training questions it is drawn from, and ``REHEARSAL``."""
    cfg = sample_server.preset(port, manifest)
    fraction = manifest["counts"]["fraction"]
    cfg["datasets"] = {"nq": {"prepare": {"valid": {"queries": max(2, round(500 * fraction)), "seed": 0}}}}
    return {**cfg, **REHEARSAL}


def copy_workflow(dest: Path) -> None:
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("workflow", "envs", "profiles"):
        shutil.copytree(ROOT / name, dest / name)


def stage_of_benchmark(rel: Path) -> str:
    """``benchmarks/bm25_run/msmarco/dev.tsv`` -> ``bm25_run/msmarco``."""
    parts = rel.with_suffix("").parts[1:]
    kind, dataset = STAGE_OF_BENCH.get(parts[0], parts[0]), parts[1]
    if kind == "evaluate" and parts[-1] == "bm25":
        kind = "evaluate_bm25"
    if kind == "bm25_run":  # one stage per split: their queries differ (dev grows with f, train-eval is fixed)
        return f"{kind}/{dataset}/{parts[2]}"
    return f"{kind}/{DATASET_OF_GROUP.get(dataset, dataset)}"


def stage_of_output(rule: str, path: str) -> str:
    parts = Path(path).parts
    if rule == "bm25_run":  # data/{dataset}/bm25-{split}.parquet
        return f"bm25_run/{parts[1]}/{Path(path).name.removeprefix('bm25-').removesuffix('.parquet')}"
    if parts[0] == "data":
        dataset = parts[2] if parts[1] == "downloads" else parts[1]
    else:  # results/runs/{dataset}/...
        dataset = parts[2]
    return f"{STAGE_OF_RULE.get(rule, rule)}/{DATASET_OF_GROUP.get(dataset, dataset)}"


def size_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def measure(workdir: Path) -> dict[str, dict]:
    """Per stage: jobs, wall s (sum), peak RSS MB (max), disk MB (its outputs' sizes)."""
    stages: dict[str, dict] = {}
    for tsv in sorted((workdir / "benchmarks").rglob("*.tsv")):
        with open(tsv) as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        s = stages.setdefault(stage_of_benchmark(tsv.relative_to(workdir)),
                              {"jobs": 0, "wall_s": 0.0, "rss_mb": 0.0, "disk_mb": 0.0})
        s["jobs"] += 1
        s["wall_s"] += float(row["s"])
        s["rss_mb"] = max(s["rss_mb"], float(row["max_rss"]))
    meta = workdir / ".snakemake/metadata"
    for record in meta.rglob("*"):
        if not record.is_file():
            continue
        rule = json.loads(record.read_text())["rule"]
        path = base64.urlsafe_b64decode("".join(record.relative_to(meta).parts)).decode()
        stage = stage_of_output(rule, path)
        if stage not in stages:
            raise RuntimeError(f"rule {rule} wrote {path} but has no benchmark file: every measured "
                               "stage needs a benchmark: directive (workflow/rules/*.smk)")
        stages[stage]["disk_mb"] += size_mb(workdir / path)
        if rule in ("evaluate", "evaluate_bm25"):  # its run files, written beside metrics.json, undeclared
            stages[stage]["disk_mb"] += sum(size_mb(p) for p in (workdir / path).parent.glob("*.run.parquet"))
    for tokens in (workdir / "data").glob("*/.tokens"):  # the token caches: built by the first job to need
        stage = f"train/{tokens.parent.name}"  # them, training here (text/cache.py), undeclared
        if stage in stages:
            stages[stage]["disk_mb"] += size_mb(tokens)
    return stages


def rehearse(fraction: float, base: Path, cores: int, log, reuse: bool = False) -> dict[str, dict]:
    """Generate, serve and run one fraction in ``base``; the stages' measurements (with
    ``reuse``, those of the run already in ``base``)."""
    served, workdir = base / "served", base / "work"
    if reuse:
        if not (workdir / "benchmarks").is_dir():
            raise FileNotFoundError(f"--reuse: {workdir} holds no earlier run")
        return measure(workdir)
    served.mkdir(parents=True)
    workdir.mkdir()
    t0 = time.perf_counter()
    manifest = scale_data.build(served, fraction)
    log(f"fraction {fraction}: files generated in {time.perf_counter() - t0:.0f} s "
        f"({sum(f['size'] for f in manifest['files'].values()) / 2**20:.0f} MB served)")
    httpd = sample_server.serve(served, 0)
    try:
        copy_workflow(workdir)
        (workdir / "rehearsal.yaml").write_text(yaml.safe_dump(overlay(httpd.port, manifest), sort_keys=False))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                                             os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "tools.bench.snakemake_sampled", "--cores", str(cores),
               "--configfile", "rehearsal.yaml", "--", *TARGETS]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake failed at fraction {fraction} (in {workdir}):\n"
                               + proc.stdout[-2000:] + proc.stderr[-6000:])
        log(f"fraction {fraction}: pipeline ran in {time.perf_counter() - t0:.0f} s")
    finally:
        httpd.shutdown()
        httpd.server_close()
    return measure(workdir)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem / 2**20, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fractions", default="0.003,0.01,0.03", help="comma-separated fractions of the real sizes")
    p.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    p.add_argument("--workdir", help="where the fractions run (default: a temporary folder, removed)")
    p.add_argument("--docs", action="store_true",
                   help="write docs/scale.md, docs/scale.png and src/dualrank/report/reference/scale-fits.json")
    p.add_argument("--json-out", help="also write the measurements and fits to this JSON file")
    p.add_argument("--reuse", action="store_true",
                   help="measure the runs already in --workdir again instead of running them (the machine and "
                        "load recorded then, in WORKDIR/machine.json)")
    a = p.parse_args(argv)
    if a.reuse and not a.workdir:
        p.error("--reuse needs --workdir")
    try:
        fractions = sorted({float(x) for x in a.fractions.split(",") if x.strip()})
        for f in fractions:
            scale_data.sizes(f)
    except ValueError as e:
        p.error(f"--fractions: {e}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    base = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="dualrank-scale-"))
    info = {**machine(), "load_start": os.getloadavg()}
    if a.reuse and (base / "machine.json").exists():
        info = json.loads((base / "machine.json").read_text())
    elif a.reuse:
        info = {**machine(), "load_start": None, "load_end": None}
    measured: dict[float, dict] = {}
    try:
        print(f"{'stage':<28} {'fraction':>8} {'jobs':>4} {'wall s':>8} {'peak RSS MB':>11} {'disk MB':>9}")
        for f in fractions:
            measured[f] = rehearse(f, base / f"f{f}", a.cores, log, a.reuse)
            for stage, s in sorted(measured[f].items()):
                print(f"{stage:<28} {f:>8g} {s['jobs']:>4} {s['wall_s']:>8.1f} {s['rss_mb']:>11.0f} "
                      f"{s['disk_mb']:>9.1f}", flush=True)
    finally:
        if not a.workdir:
            shutil.rmtree(base, ignore_errors=True)
    if not a.reuse:
        info["load_end"] = os.getloadavg()
        if a.workdir:
            (base / "machine.json").write_text(json.dumps(info))
    fits = scale_fit.fit_all(measured)
    print(scale_fit.fits_table(fits))
    result = {"machine": info, "fractions": fractions, "sizes_at_1": scale_data.FULL, "fixed": scale_data.FIXED,
              "measured": {str(f): m for f, m in measured.items()}, "fits": fits}
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=1))
    if a.docs:
        scale_fit.write_docs(result, ROOT / "docs", ROOT / "src/dualrank/report/reference/scale-fits.json")
    print(scale_fit.final_line(fits))
    return 0
