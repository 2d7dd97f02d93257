"""What every renderer shares: the layout, the run files it reads, the paper's values. A layout
(the ``--layout`` JSON, :func:`dualrank.grid.experiment_layout` of config.yaml) is::

    {"name": "table4", "kind": "metrics", "title": str, "dataset": "msmarco",
     "data_dir": "data/msmarco", "compare_to_paper": bool, "evaluations": ["dev", "dl19"],
     "cells": [{"row": "Margin MSE", "arch": "de", "encoder": "bert-6-128", "loss": "margin_mse",
                "seed": 0, "dir": "results/runs/...", "hidden": 128, "layers": 6}, ...],
     "params": {...}}

One cell per run; a row is the cells sharing ``row`` (its seeds), in first-appearance order.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dualrank.data.io import InputError

LAYOUT_KEYS = ("name", "kind", "cells")
CELL_KEYS = ("row", "dir")


def parse_layout(text: str) -> dict:
    """The ``--layout`` JSON of a report command."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"--layout: not JSON (column {e.colno}): {e.msg}") from e


def check_layout(layout: dict) -> dict:
    where = f"layout {layout.get('name', '?')!r}"
    missing = [k for k in LAYOUT_KEYS if k not in layout]
    if missing:
        raise InputError(f"{where}: missing key(s) {missing}")
    if not layout["cells"]:
        raise InputError(f"{where}: no cells (runs) to report")
    for i, cell in enumerate(layout["cells"]):
        gone = [k for k in CELL_KEYS if k not in cell]
        if gone:
            raise InputError(f"{where}: cells[{i}] lacks key(s) {gone}")
    layout.setdefault("params", {})
    return layout


def rows(layout: dict) -> dict[str, list[dict]]:
    """Row label -> its cells (one per seed), rows in config order."""
    out: dict[str, list[dict]] = {}
    for cell in layout["cells"]:
        out.setdefault(str(cell["row"]), []).append(cell)
    return out


def first_seed(layout: dict) -> dict[str, dict]:
    """Row label -> the run plotted for it where a figure shows one run: the first seed listed."""
    return {r: cells[0] for r, cells in rows(layout).items()}


def read_json(path: Path) -> dict:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not JSON (line {e.lineno}): {e.msg}") from e


def metric(cell: dict, evaluation: str, name: str = "mrr@10") -> float:
    """One number of a run: ``train``/``valid`` from train.json (the output model's MRR@10 on
    the train-eval split / the held-out validation queries), any other evaluation from metrics.json."""
    run = Path(cell["dir"])
    if evaluation in ("train", "valid"):
        key, path = f"{evaluation}_{name}", run / "train.json"
        data = read_json(path)
    else:
        path = run / "metrics.json"
        data = read_json(path)
        if evaluation not in data:
            raise InputError(f"{path}: no evaluation {evaluation!r} (has {sorted(data)})")
        data, key = data[evaluation], name
    if key not in data:
        raise InputError(f"{path}: no key {key!r} under {evaluation!r}")
    return float(data[key])


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample std (ddof 1: the seeds are a sample of the runs one could train) over
    seeds; with one seed there is no spread to estimate, and the std is NaN (printed as none)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan")


def read_table(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A Parquet file's named columns, checked, as pandas; ``columns`` maps name -> kind
    (``str``, ``int``, ``float``) so that every reader sees the same dtypes."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        table = pq.read_table(path, columns=list(columns))
    except (pa.ArrowInvalid, OSError, KeyError) as e:
        raise InputError(f"{path}: needs columns {list(columns)}: {e}") from e
    df = table.to_pandas()
    nulls = [c for c in columns if df[c].isna().any()]
    if nulls:
        raise InputError(f"{path}: null values in column(s) {nulls}")
    return df.astype({c: {"str": str, "int": "int64", "float": "float64"}[k] for c, k in columns.items()})


def paper(result: str) -> dict[tuple[str, str], float]:
    """The paper's published values of one result: (row, column) -> value
    (src/dualrank/report/reference/paper.csv; columns are "{evaluation} {metric}")."""
    with resources.files("dualrank.report.reference").joinpath("paper.csv").open() as f:
        df = pd.read_csv(f, dtype={"result": str, "row": str, "column": str})
    df = df[df["result"] == result]
    return {(r, c): float(v) for r, c, v in zip(df["row"], df["column"], df["value"])}


def check_paper_rows(layout: dict, known: dict[tuple[str, str], float]) -> None:
    """With compare_to_paper, a row the paper does not have is a naming slip in config.yaml."""
    names = sorted({r for r, _ in known})
    for row in rows(layout):
        if row not in names:
            raise InputError(f"layout {layout['name']!r}: row {row!r} has no value in the paper "
                             f"(src/dualrank/report/reference/paper.csv rows: {names})")


def truncate(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: max(n - 1, 0)].rstrip() + "…"


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")
