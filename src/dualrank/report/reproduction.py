"""Paper versus measured, cell by cell (``results/paper-vs-measured.{csv,md}``), as pyserini's
reproduction pages print OK or the difference, but with a trained model's seed variance: a cell
is OK when the paper's value lies within the interval its seeds span (lowest to highest) or
within ``reproduction.tolerance`` (config.yaml) of our mean over seeds; else the difference
(ours − paper). Only under the paper's configuration (``report.compare_to_paper``); the
published values are src/dualrank/report/reference/{table1,paper}.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dualrank.data.io import write_text
from dualrank.report import cells as cells_mod
from dualrank.report import common, table1

COLUMNS = ["result", "row", "column", "paper", "mean", "low", "high", "seeds", "diff", "status"]


def published(name: str) -> dict[tuple[str, str], float]:
    """(row, column key) -> the paper's value of one result (Table 1's keys: "{column} {metric}")."""
    if name != "table1":
        return common.paper(name)
    ref = table1.paper_values()
    return {(r, f"{c} {m}"): float(ref.loc[(r, c), m]) for r, c in ref.index for m in table1.METRICS
            if not np.isnan(ref.loc[(r, c), m])}


def status(values: list[float], paper: float, tolerance: float) -> tuple[str, float]:
    mean = float(np.mean(values))
    diff = mean - paper
    inside = min(values) <= paper <= max(values) or abs(diff) <= tolerance + 1e-12
    return ("OK" if inside else f"{diff:+.3f}"), diff


def compare(spec: dict) -> pd.DataFrame:
    """One line per cell with a published value (:data:`COLUMNS`); empty off the paper config."""
    lines = []
    if not spec.get("compare_to_paper"):
        return pd.DataFrame(columns=COLUMNS)
    tol = float(spec.get("tolerance", 0.0))
    for name, layout in spec["tables"].items():
        ref = published(name)
        for (row, col), cell in cells_mod.cells_of(layout).items():
            if (row, col) not in ref:
                continue
            v = cells_mod.seed_values(cell)
            line = {"result": name, "row": row, "column": col, "paper": ref[(row, col)], "seeds": len(v)}
            if not v:
                lines.append({**line, "status": "not run"})
                continue
            st, diff = status(v, ref[(row, col)], tol)
            lines.append({**line, "mean": float(np.mean(v)), "low": min(v), "high": max(v), "diff": diff,
                          "status": st})
    return pd.DataFrame(lines).reindex(columns=COLUMNS)


def markdown(df: pd.DataFrame, spec: dict) -> str:
    title = "**Paper versus measured**"
    if not spec.get("compare_to_paper"):
        return (f"{title}\n\nThis configuration is not the paper's (report.compare_to_paper is false): "
                "its numbers are not compared with the published ones.\n")
    ok = int((df["status"] == "OK").sum())
    lines = [f"{title}: {ok} of {len(df)} cells OK (the paper's value within our seeds' range or within "
             f"{float(spec.get('tolerance', 0.0)):g} of our mean; else ours − paper).", "",
             "| Result | Row | Column | Paper | Ours (seeds' range) | Status |", "|---|---|---|---|---|---|"]
    for _, x in df.iterrows():
        ours = "—" if pd.isna(x["mean"]) else (
            f"{x['mean']:.3f}" + (f" ({x['low']:.3f}–{x['high']:.3f})" if x["seeds"] > 1 else ""))
        lines.append(f"| {x['result']} | {common.md_escape(x['row'])} | {x['column']} | {x['paper']:.3f} | "
                     f"{ours} | {x['status']} |")
    return "\n".join(lines) + "\n"


def render(spec: dict, csv: str, md: str) -> pd.DataFrame:
    df = compare(spec)
    write_text(csv, df.to_csv(index=False, float_format="%.4f"))
    write_text(md, markdown(df, spec))
    return df
