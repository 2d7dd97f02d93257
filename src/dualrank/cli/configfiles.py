"""Snakemake's command line, read for what it merges: the Snakefile prints the config files in
effect on every run and dry run, and refuses a repeated ``--configfile``.

``--configfile`` takes several files; given twice, Snakemake keeps only the second one's files
and drops the first without a word (``--configfile=demo.yaml --configfile=my.yaml`` plans the
paper grid). Pure functions of the argument list: no Snakemake import.
"""

from __future__ import annotations

import os
from itertools import takewhile

CONFIGFILE_FLAGS = ("--configfile", "--configfiles")


def configfile_groups(argv: list[str]) -> list[list[str]]:
    """The files named after each --configfile of a Snakemake command line (before any ``--``).
    ``--configfile=A B`` names both, though Snakemake reads only A as a file (B: a target)."""
    argv = argv[: argv.index("--")] if "--" in argv else argv
    groups = []
    for i, (flag, eq, value) in enumerate(a.partition("=") for a in argv):
        if flag in CONFIGFILE_FLAGS:
            after = list(takewhile(lambda a: not a.startswith("-"), argv[i + 1:]))
            groups.append([value, *(a for a in after if a.endswith((".yaml", ".yml")))] if eq else after)
    return groups


def typed_targets(argv: list[str]) -> list[str]:
    """The targets of a command line where it is plain: after ``--``, or after a last
    ``--configfile=FILE`` (a target right after ``--configfile FILE`` would be read as a file)."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    tail = list(takewhile(lambda a: not a.startswith("-"), reversed(argv)))[::-1]
    before = argv[-len(tail) - 1] if len(tail) < len(argv) else ""
    return tail if before.partition("=")[0] in CONFIGFILE_FLAGS and "=" in before else []


def config_in_effect(files: list[str], overrides: dict) -> str:
    """One line: the config files merged in order (config.yaml, then each --configfile), the
    --config keys set on top, and the preset recognised (a file of workflow/presets/)."""
    merged = [*files, *(f"--config {k}" for k in overrides)]
    presets = [f.rsplit("/", 1)[-1].removesuffix(".yaml") for f in files if "workflow/presets/" in f]
    order = " (each overriding the ones before)" if len(merged) > 1 else ""
    return (f"dualrank: config in effect: {' + '.join(merged)}{order}; preset: "
            f"{', '.join(presets) or 'none (the paper grid of config.yaml)'}")


def dropped_configfiles(groups: list[list[str]], kept: list[str], targets: list[str]) -> str | None:
    """The error for files named after --configfile that Snakemake does not merge (``kept``: the
    absolute paths of those it merges), else None."""
    named = [f for g in groups for f in g]
    lost = [f for f in named if not _among(f, kept)]
    if not lost:
        return None
    why = (f"--configfile given {len(groups)} times: Snakemake keeps only the last one's files"
           if len(groups) > 1 else "--configfile=FILE takes one file, and what follows is read as a target")
    targets = [t for t in targets if t not in named] or ["TARGET"]
    return (f"{why}, so {', '.join(lost)} would be silently left out. Name every file after one "
            f"--configfile, in the order they merge, and the targets after --:\n"
            f"    snakemake ... --configfile {' '.join(named)} -- {' '.join(targets)}")


def _among(typed: str, kept: list[str]) -> bool:
    # A path as typed, relative to where Snakemake started (which --directory may have left).
    path = os.path.normpath(typed)
    return any(k == path or k.endswith(os.sep + path) for k in map(os.path.normpath, kept))
