"""What the statistics of the report need from the config, as plain functions for the rules
(like :mod:`dualrank.grid`, no torch and no pandas, so the DAG stays fast): each table's
significance settings and baselines, the per-query files its tests read, and the claims job's
spec, inputs and outputs (``workflow/rules/claims.smk``)."""

from __future__ import annotations

from dualrank import grid

PER_QUERY = "per-query.parquet"
# The results the claims and the paper-versus-measured page read: metric tables and the
# embedding-size figures (their train and dev MRR@10 by encoder size).
CLAIM_KINDS = ("metrics", "table2", "embedding_size")
CLAIMS_FILES = ("claims.csv", "claims.md", "claims-summary.csv", "paper-vs-measured.csv", "paper-vs-measured.md")


def significance(config: dict, name: str) -> dict:
    """config.yaml's ``significance`` settings with the baselines of result ``name`` (none: no tests)."""
    sig = dict(config.get("significance") or {})
    baselines = (sig.pop("baselines", None) or {}).get(name, [])
    return {**sig, "baselines": baselines}


def table_layout(config: dict, layout: dict, name: str | None = None) -> dict:
    """A table's layout with its ``significance`` (settings and baselines) when it has baselines."""
    sig = significance(config, name or layout["name"])
    return {**layout, "significance": sig} if sig["baselines"] else layout


def runs_of(config: dict, name: str) -> list[grid.Run]:
    return grid.table_runs(config) if name == "table1" else grid.experiment_runs(config, name)


def per_query_inputs(config: dict, name: str) -> list[str]:
    """The per-query files a result's tests read: its runs' (none without baselines)."""
    if not significance(config, name)["baselines"]:
        return []
    return [f"{r.path(config['results_dir'])}/{PER_QUERY}" for r in runs_of(config, name)]


def claim_tables(config: dict) -> list[str]:
    names = ["table1"] if config.get("table1") else []
    return names + [n for n, e in config.get("experiments", {}).items() if e["kind"] in CLAIM_KINDS]


def _compact(layout: dict) -> dict:
    keep = ("row", "arch", "encoder", "seed", "dir")
    return {**layout, "cells": [{k: c[k] for k in keep if k in c} for c in layout["cells"]]}


def claims_spec(config: dict) -> dict:
    """The claims job's ``--spec``: every table's layout (with its significance settings), the
    claims, the test settings, the tolerance of the paper-versus-measured comparison and
    whether the config is the paper's."""
    layouts = {}
    for name in claim_tables(config):
        layout = grid.table1_layout(config) if name == "table1" else _compact(grid.experiment_layout(config, name))
        layouts[name] = {**layout, "name": name, "significance": significance(config, name)}
    sig = {k: v for k, v in (config.get("significance") or {}).items() if k != "baselines"}
    return {"tables": layouts, "claims": config.get("claims", []), "significance": sig,
            "tolerance": config.get("reproduction", {}).get("tolerance", 0.0),
            "compare_to_paper": config["report"]["compare_to_paper"]}


def claims_inputs(config: dict) -> list[str]:
    """Every file the claims job reads: each table run's metrics, train.json and per-query scores."""
    out = []
    for name in claim_tables(config):
        for r in runs_of(config, name):
            d = r.path(config["results_dir"])
            out += [f"{d}/metrics.json", f"{d}/{PER_QUERY}"] + ([] if r.arch == "bm25" else [f"{d}/train.json"])
    return list(dict.fromkeys(out))


def claims_files(config: dict) -> list[str]:
    return [f"{config['results_dir']}/{f}" for f in CLAIMS_FILES]
