"""``snakemake -n TARGET`` under config.yaml: wall time (median of runs) and the job count."""

from __future__ import annotations

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


def dry_run(target: str, workdir: Path, repeats: int = 3) -> DryRun:
    if not (workdir / "Snakefile").exists():
        return DryRun(target, None, None, f"no Snakefile in {workdir} (run from the repository root)")
    exe = shutil.which("snakemake")
    cmd = [exe, "-n", target] if exe else [sys.executable, "-m", "snakemake", "-n", target]
    times, out = [], ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            first = next((ln for ln in out.splitlines() if "rule to produce" in ln or "Error" in ln), "")
            if "No rule to produce" in out or "MissingRuleException" in out:
                return DryRun(target, None, None, f"the workflow has no target {target!r}: {first.strip()}")
            return DryRun(target, None, None, f"snakemake -n failed: {out.strip().splitlines()[-1:]}")
    m = re.search(r"^total\s+(\d+)\s*$", out, re.M)
    return DryRun(target, statistics.median(times), int(m.group(1)) if m else None)


def measure(targets: list[str], workdir: Path) -> tuple[DryRun, list[DryRun]]:
    """The first target the workflow knows, and the unknown ones tried before it."""
    skipped = []
    for target in targets:
        r = dry_run(target, workdir)
        if r.seconds is not None:
            return r, skipped
        skipped.append(r)
    return skipped[-1], skipped[:-1]
