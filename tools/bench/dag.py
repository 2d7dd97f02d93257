"""``snakemake -n TARGET`` under config.yaml: wall time (median of runs) and the job count.

Where the SLURM executor plugin is installed, every snakemake start imports it and it runs
``scontrol show config``, which waits up to 10 s when no slurmctld answers (a workstation with
the SLURM client installed but no controller running). :func:`slurm_probe` times that call;
the benchmark then also reports the dry run with the probe failing at once (``SLURM_CONF``
pointing at an empty file), which is what the workflow itself costs.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class DryRun:
    target: str
    seconds: float | None   # None: the target is unknown to the workflow
    jobs: int | None
    note: str = ""


def slurm_probe() -> float | None:
    """Seconds ``scontrol show config`` takes, if scontrol and the SLURM executor plugin exist."""
    import importlib.util

    if not shutil.which("scontrol") or importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return None
    t0 = time.perf_counter()
    subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=30)
    return time.perf_counter() - t0


def dry_run(target: str, workdir: Path, repeats: int = 3, env: dict | None = None) -> DryRun:
    if not (workdir / "Snakefile").exists():
        return DryRun(target, None, None, f"no Snakefile in {workdir} (run from the repository root)")
    exe = shutil.which("snakemake")
    cmd = [exe, "-n", target] if exe else [sys.executable, "-m", "snakemake", "-n", target]
    times, out = [], ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t0)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            first = next((ln for ln in out.splitlines() if "rule to produce" in ln or "Error" in ln), "")
            if "No rule to produce" in out or "MissingRuleException" in out:
                return DryRun(target, None, None, f"the workflow has no target {target!r}: {first.strip()}")
            return DryRun(target, None, None, f"snakemake -n failed: {out.strip().splitlines()[-1:]}")
    m = re.search(r"^total\s+(\d+)\s*$", out, re.M)
    return DryRun(target, statistics.median(times), int(m.group(1)) if m else None)


def measure(targets: list[str], workdir: Path, env: dict | None = None) -> tuple[DryRun, list[DryRun]]:
    """The first target the workflow knows, and the unknown ones tried before it."""
    skipped = []
    for target in targets:
        r = dry_run(target, workdir, env=env)
        if r.seconds is not None:
            return r, skipped
        skipped.append(r)
    return skipped[-1], skipped[:-1]


def without_slurm_probe(tmp: Path) -> dict:
    """The environment with ``scontrol`` failing at once (an empty SLURM configuration)."""
    empty = tmp / "slurm.conf"
    empty.write_text("")
    return {**os.environ, "SLURM_CONF": str(empty)}
