"""What a target will cost, before anything runs: its jobs by rule, the disk each stage writes,
the memory each job kind asks for and the GPU-hours of the training, encoding and scoring jobs.

    dualrank plan TARGET [--configfile FILE ...] [--directory DIR]

Runs Snakemake's dry run of TARGET in DIR (default: here, the repository root) under
config.yaml overlaid by the --configfile files, as `snakemake -n --configfile FILE -- TARGET`
would, and prices the jobs it lists (only those that would run: existing outputs cost nothing)
with dualrank.report.cost: FLOPs from the config's encoders, lengths and steps at the device
throughput of config key `plan` (peak_tflops x mfu), disk and memory as that module says.
Where the DAG holds results, it also prints each table's and figure's own runs' total.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.data.io import InputError


@dataclass(frozen=True, kw_only=True)
class Args:
    target: str = option("the Snakemake target to price (e.g. results/table1.csv, results/all)", positional=True)
    configfile: list[str] = option("config overlays, as Snakemake's --configfile (repeatable)", [])
    directory: str = option("the workflow's directory (its Snakefile and config.yaml)", ".")


def dry_run(target: str, configfiles: list[str], directory: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-n"]
    if configfiles:
        cmd += ["--configfile", *configfiles]
    proc = subprocess.run([*cmd, "--", target], cwd=directory, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"snakemake -n -- {target} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout + proc.stderr


def jobs_of(output: str):
    """The jobs of a dry run's output: (rule, wildcards, resources) of each ``rule X:`` block."""
    from dualrank.report.cost import Job

    jobs = []
    for block in re.split(r"^\[[^\]]*\]\n", output, flags=re.M):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if not m:
            continue
        fields = dict(re.findall(r"^ {4}(\w+): (.*)$", block, re.M))
        jobs.append(Job(m[1], _pairs(fields.get("wildcards", "")), _pairs(fields.get("resources", ""))))
    return jobs


def _pairs(text: str) -> dict:
    return dict(p.split("=", 1) for p in text.split(", ") if "=" in p)


def load_config(directory: str, overlays: list[str]) -> dict:
    config = yaml.safe_load((Path(directory) / "config.yaml").read_text())
    for path in overlays:
        _merge(config, yaml.safe_load((Path(directory) / path).read_text()) or {})
    return config


def _merge(base: dict, over: dict) -> None:
    # Snakemake's own rule for --configfile: nested mappings merge, anything else replaces.
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else (f"{n / 1e6:,.1f} MB" if n else "-")


def report(config: dict, jobs, target: str) -> str:
    from dualrank.report import cost

    plan = config["plan"]
    rules = cost.summarise(config, jobs)
    lines = [f"dualrank plan {target}: {len(jobs)} jobs; GPU-hours at {plan['device']}, "
             f"{plan['peak_tflops']} TFLOP/s peak x {plan['mfu']} MFU",
             f"{'rule':<18} {'jobs':>5} {'GPU-hours':>10} {'disk written':>13} {'mem/job asked':>14} "
             f"{'peak RSS (fit)':>14}"]
    for rule, r in rules.items():
        gpu = f"{r['gpu_hours']:,.{1 if r['gpu_hours'] >= 1 else 3}f}" if rule in cost.GPU_RULES else "-"
        disk = gb(r["disk"]) if r["modelled"] else "not modelled"
        mem = f"{r['mem_mb'] / 1000:,.1f} GB" if r["mem_mb"] else "-"
        rss = ("-" if r["rss_mb"] is None else "n.d." if math.isnan(r["rss_mb"])
               else f"{r['rss_mb'] / 1024:,.2f} GB")
        lines.append(f"{rule:<18} {r['jobs']:>5} {gpu:>10} {disk:>13} {mem:>14} {rss:>14}")
    total_h = sum(r["gpu_hours"] for rule, r in rules.items() if rule in cost.GPU_RULES)
    lines.append(f"{'total':<18} {len(jobs):>5} {total_h:>10,.1f} {gb(sum(r['disk'] for r in rules.values())):>13}"
                 "   (disk: the modelled rules)")
    lines += sorted({n for r in rules.values() for n in r["notes"]})
    lines.append("peak RSS (fit): the scale rehearsal's fit of the job's stage at plan.datasets' passages "
                 "(train, evaluate: besides the model and the batch; -: not rehearsed; n.d.: not determined, "
                 "the fitted exponent at its grid's edge), from a few small fractions on a 2-core machine: "
                 "docs/scale.md says which figures its measurements support"
                 if cost.load_scale_fits() else
                 f"peak RSS (fit): no {cost.SCALE_FITS.name} (python -m tools.bench scale --docs writes it)")
    if "evaluate" in rules and not config["index"]["persistent"]:
        hidden = max((cost.shape(config, j.wildcards["encoder"])["hidden"] for j in jobs if j.rule == "evaluate"),
                     default=0)
        for ds, sizes in config["plan"]["datasets"].items():
            for name, e in config["datasets"].get(ds, {}).get("evaluations", {}).items():
                if e.get("mode") == "retrieval":
                    n = cost.queries(config, ds, e.get("split", name))
                    lines.append(f"streamed retrieval ({ds} {name}: {sizes['passages']:,} passages, {n:,} queries): "
                                 f"~{cost.stream_memory_mb(config, ds, hidden, n, e['depth']):,.0f} MB besides "
                                 f"the model, whatever the corpus size; no index on disk")
    wanted = {"table1" if j.rule == "table1" else j.wildcards.get("name") for j in jobs
              if j.rule in ("table1", "table", "figure")}
    results = {name: r for name, r in cost.per_result(config, jobs).items() if name in wanted}
    if results:
        lines.append("per result (its runs' training and evaluation; a run shared by several results counts in each):")
        lines += [f"  {name:<10} {r['runs']:>4} runs {r['gpu_hours']:>10,.1f} GPU-hours {gb(r['disk']):>11}"
                  for name, r in results.items()]
    return "\n".join(lines)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "plan", __doc__)
    config = load_config(a.directory, a.configfile)
    if "plan" not in config:
        raise InputError(f"{a.directory}/config.yaml: no `plan` key (device throughput for GPU-hours)")
    print(report(config, jobs_of(dry_run(a.target, a.configfile, a.directory)), a.target))
    return 0


if __name__ == "__main__":
    main()
