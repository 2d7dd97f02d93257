"""A result's cells in one shape for the statistics (:mod:`dualrank.report.significance`,
:mod:`dualrank.report.claims`): each (row, column) of Table 1, of a metric table (Tables 2, 4-9,
12) or of an embedding-size figure (Figures 1, 3), with its seeds' run directories, evaluation
and metric; and the two things read from them, each seed's figure and the per-query scores
averaged over the seeds.

Column keys are those of the result's CSV: "{evaluation} {metric}" ("CA dev mrr@10" where a
column takes one arch, Table 2), Table 1's "{column name} {metric}" ("MSMARCO re-rank mrr@10").
A figure's row is "{method} {encoder}" ("DE bert-6-768"). Per-query scores are each run's
``per-query.parquet`` (``dualrank per-query``: RR@10 and nDCG@10 of every judged query, from the
evaluation's re-ranked run); train and valid MRR@10 come from train.json and have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dualrank.data.io import InputError
from dualrank.grid import Run
from dualrank.report import common, presets, tables

PER_QUERY = "per-query.parquet"
PER_QUERY_COLUMNS = {"evaluation": "str", "query_id": "str", "mrr@10": "float", "ndcg@10": "float"}
# train.json's figures: the training job's own evaluation, one number per run.
NO_PER_QUERY = ("train", "valid")
TABLE1_METRICS = ("mrr@10", "ndcg@10")


@dataclass(frozen=True)
class Cell:
    row: str
    column: str
    evaluation: str
    metric: str
    dirs: tuple[str, ...]
    arch: str = ""


def table1_cells(layout: dict) -> dict[tuple[str, str], Cell]:
    out = {}
    for row in layout["rows"]:
        for col in layout["columns"]:
            seeds = [0] if row["arch"] == "bm25" else layout["seeds"]
            dirs = tuple(Run(col["dataset"], row["arch"], row.get("encoder", ""), row.get("loss", ""), s)
                         .path(layout["results"]) for s in seeds)
            for m in TABLE1_METRICS:
                key = f"{col['name']} {m}"
                out[(row["name"], key)] = Cell(row["name"], key, col["evaluation"], m, dirs, row["arch"])
    return out


def experiment_cells(layout: dict) -> dict[tuple[str, str], Cell]:
    layout = presets.apply(layout)
    out = {}
    if layout["kind"] == "embedding_size":
        sets = layout["params"].get("sets", ["train", "dev"])
        for c in layout["cells"]:
            row = f"{c['row']} {c['encoder']}"
            for s in sets:
                key = f"{s} mrr@10"
                old = out.get((row, key))
                dirs = (old.dirs if old else ()) + (c["dir"],)
                out[(row, key)] = Cell(row, key, s, "mrr@10", dirs, c.get("arch", ""))
        return out
    for row, runs in common.rows(layout).items():
        for col in tables.columns_of(layout):
            dirs = tuple(x["dir"] for x in runs if "arch" not in col or x.get("arch") == col["arch"])
            if dirs:
                out[(row, col["key"])] = Cell(row, col["key"], col["evaluation"], col["metric"], dirs,
                                              col.get("arch", runs[0].get("arch", "")))
    return out


def cells_of(layout: dict) -> dict[tuple[str, str], Cell]:
    """(row, column key) -> Cell of a Table 1 layout (``rows`` and ``columns``) or an experiment's."""
    return table1_cells(layout) if "cells" not in layout else experiment_cells(layout)


def seed_values(cell: Cell) -> list[float]:
    """Each seed's figure (an evaluation a run does not take part in, Table 1's CA retrieval: none)."""
    values = []
    for d in cell.dirs:
        if cell.evaluation not in NO_PER_QUERY:
            path = Path(d) / "metrics.json"
            if cell.evaluation not in common.read_json(path):
                continue
        values.append(common.metric({"dir": d}, cell.evaluation, cell.metric))
    return values


def _one_run(d: str, cell: Cell) -> pd.Series | None:
    df = common.read_table(Path(d) / PER_QUERY, PER_QUERY_COLUMNS)
    df = df[df["evaluation"] == cell.evaluation]
    if df.empty:
        return None
    if df["query_id"].duplicated().any():
        q = df.loc[df["query_id"].duplicated(), "query_id"].iloc[0]
        raise InputError(f"{d}/{PER_QUERY}: query {q!r} twice under {cell.evaluation!r}")
    return df.set_index("query_id")[cell.metric].sort_index()


def check_same_queries(a: pd.Series, b: pd.Series, name_a: str, name_b: str) -> None:
    """Paired scores need the same queries on both sides: else an error naming a missing query."""
    for x, y, nx, ny in ((a, b, name_a, name_b), (b, a, name_b, name_a)):
        missing = x.index.difference(y.index)
        if len(missing):
            raise InputError(f"query {missing[0]!r} is scored in {nx} but not in {ny} "
                             f"({len(missing)} such queries); paired tests need the same queries")


def per_query(cell: Cell) -> pd.Series | None:
    """Per-query ``cell.metric``, the mean over the cell's seeds query by query (index: query id,
    sorted); None where there are none (train/valid MRR@10, an evaluation the runs lack)."""
    if cell.evaluation in NO_PER_QUERY:
        return None
    runs = {d: _one_run(d, cell) for d in cell.dirs}
    have = [d for d, s in runs.items() if s is not None]
    if not have:
        return None
    if len(have) < len(runs):
        gone = next(d for d in runs if runs[d] is None)
        raise InputError(f"{gone}/{PER_QUERY}: no {cell.evaluation!r} scores, which {have[0]} has")
    first = have[0]
    for d in have[1:]:
        check_same_queries(runs[first], runs[d], f"{first}/{PER_QUERY}", f"{d}/{PER_QUERY}")
    return pd.concat([runs[d] for d in have], axis=1).mean(axis=1).rename(cell.metric)


def mean_of(cell: Cell) -> float:
    v = seed_values(cell)
    return float(np.mean(v)) if v else float("nan")
