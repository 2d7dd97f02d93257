"""What produced a table or figure, printed under every one of them: the preset (the config files
merged), the encoders' real sizes (layers x width, from the config, not the paper's names), the
seeds, the std convention and the commit the renderer ran at.

A layout's ``provenance`` (built by :func:`dualrank.grid.provenance`) is::

    {"preset": "demo", "config_files": ["config.yaml", "workflow/presets/demo.yaml"],
     "seeds": [0, 1], "encoders": {"bert-6-768": {"layers": 2, "hidden": 64}}}

Spread over seeds is the sample std (ddof = 1): the seeds are a sample of the runs one could
have trained. With one seed there is no spread, and no std is printed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

STD = "mean ± sample std (ddof = 1) over seeds; one seed: no std"


def commit(where: str | Path = ".") -> str:
    """The short hash of the checkout the renderer runs in ("-dirty" with uncommitted changes to
    tracked files), "unknown" outside git."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=30)
    try:
        head = git("rev-parse", "--short=7", "HEAD")
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        dirty = git("diff", "--quiet", "HEAD", "--").returncode == 1
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")


def size(shape: dict) -> str:
    """``{"layers": 2, "hidden": 64}`` -> "2-layer × 64-wide"."""
    return f"{shape['layers']}-layer × {shape['hidden']}-wide"


def row_label(name: str, shape: dict | None) -> str:
    """A row name with the size it states replaced by the size trained: the paper's
    "Cross-attention BERT (12-layer)" on the demo's 2-layer, 64-wide encoder reads
    "Cross-attention BERT (2-layer × 64-wide)"; a name stating no size is left as it is."""
    if not shape:
        return name
    stated = re.compile(r"\s*\((\d+-layer|\d+-layer, \d+-wide)\)")
    return stated.sub("", name) + f" ({size(shape)})" if stated.search(name) else name


def lines(prov: dict | None, where: str | Path = ".") -> list[str]:
    """The footer, one fact a line."""
    prov = prov or {}
    files = prov.get("config_files") or []
    preset = prov.get("preset", "unknown") + (f" ({' + '.join(files)})" if files else "")
    encoders = prov.get("encoders") or {}
    enc = "; ".join(f"{n} = {size(s)}" for n, s in encoders.items()) or "none"
    seeds = prov.get("seeds")
    seed_text = ", ".join(map(str, seeds)) if seeds else "unknown"
    spread = STD if not seeds or len(seeds) > 1 else "one seed, so no std"
    return [f"Preset: {preset}", f"Encoders (trained sizes): {enc}", f"Seeds: {seed_text}",
            f"Spread: {spread}", f"Rendered at commit: {commit(where)}"]


def text(prov: dict | None, where: str | Path = ".") -> str:
    """The footer in one line (a figure's footer)."""
    return " · ".join(lines(prov, where))


def caption(prov: dict) -> str:
    """What a report caption adds about this run of the result (reStructuredText)."""
    seeds = prov.get("seeds") or []
    spread = ("mean ± sample std (ddof = 1) over them" if len(seeds) > 1
              else "one seed: no std and no band is shown")
    enc = "; ".join(f"{n} = {size(s)}" for n, s in (prov.get("encoders") or {}).items()) or "none"
    files = " + ".join(prov.get("config_files") or [])
    return (f"**This report:** preset {prov.get('preset', 'unknown')} ({files}); encoders as trained: {enc}; "
            f"seeds {', '.join(map(str, seeds))} ({spread}). The commit is in the result's footer.")


def report_labels(name: str) -> dict[str, str]:
    """The labels a result gets in ``snakemake --report``, which sorts results by their labels'
    text: a zero-padded number keeps the paper's order (Table 2 before Table 10)."""
    m = re.fullmatch(r"(table|figure)(\d+)", name)
    if not m:
        raise ValueError(f"not a result name: {name!r} (expected tableN or figureN)")
    return {"no.": f"{int(m.group(2)):02d}", "result": f"{m.group(1).capitalize()} {int(m.group(2))}"}
