"""Table 1: MRR@10 and nDCG@10 of every method on MS MARCO (re-rank, retrieval), TREC DL19 and
NQ re-ranking, the mean (and std) over seeds, beside the paper's published values.

The layout (``dualrank table1 --layout``, built by :func:`dualrank.grid.table1_layout`) is
config.yaml's ``table1`` block plus ``seeds``, ``results`` and ``compare_to_paper``. The paper's
numbers are src/dualrank/report/reference/table1.csv.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dualrank.data.io import InputError, write_text
from dualrank.grid import Run
from dualrank.report import significance

METRICS = ("mrr@10", "ndcg@10")


def paper_values() -> pd.DataFrame:
    with resources.files("dualrank.report.reference").joinpath("table1.csv").open() as f:
        return pd.read_csv(f).set_index(["row", "column"])


def collect(layout: dict) -> pd.DataFrame:
    """One line per (row, column, metric): mean, std and number of seeds."""
    lines = []
    for row in layout["rows"]:
        for col in layout["columns"]:
            seeds = [None] if row["arch"] == "bm25" else layout["seeds"]
            values = {m: [] for m in METRICS}
            for s in seeds:
                run = Run(col["dataset"], row["arch"], row.get("encoder", ""), row.get("loss", ""), s or 0)
                path = Path(run.path(layout["results"])) / "metrics.json"
                if not path.exists():
                    raise InputError(f"{path}: missing metrics for Table 1 row {row['name']!r}")
                cell = json.loads(path.read_text()).get(col["evaluation"])
                for m in METRICS:
                    if cell is not None:
                        values[m].append(cell[m])
            for m in METRICS:
                v = values[m]
                lines.append({"row": row["name"], "column": col["name"], "metric": m,
                              "mean": float(np.mean(v)) if v else np.nan,
                              "std": float(np.std(v)) if len(v) > 1 else (0.0 if v else np.nan),
                              "seeds": len(v)})
    return pd.DataFrame(lines)


def with_paper(df: pd.DataFrame) -> pd.DataFrame:
    ref = paper_values()
    paper = [ref[m].get((r, c), np.nan) for r, c, m in zip(df["row"], df["column"], df["metric"])]
    return df.assign(paper=paper, diff=df["mean"] - np.array(paper, dtype=float))


def markdown(df: pd.DataFrame, compare: bool) -> str:
    cols = list(dict.fromkeys(df["column"]))
    head = "| Model | " + " | ".join(f"{c} {m.split('@')[0].upper()}" for c in cols for m in METRICS) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(cols))]
    for row in dict.fromkeys(df["row"]):
        cells = []
        for c in cols:
            for m in METRICS:
                x = df[(df["row"] == row) & (df["column"] == c) & (df["metric"] == m)].iloc[0]
                if np.isnan(x["mean"]):
                    cells.append("N/A")
                    continue
                s = f"{x['mean']:.3f}{significance.marker(x)}" + (f" ± {x['std']:.3f}" if x["seeds"] > 1 else "")
                if compare and not np.isnan(x["paper"]):
                    s += f" ({x['paper']:.3f}, {x['diff']:+.3f})"
                cells.append(s)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    note = ("Cells: ours mean ± std over seeds (paper's value, ours − paper)." if compare
            else "Cells: mean ± std over seeds. This configuration is not the paper's, so its "
                 "published values are not printed beside it.")
    return "\n".join(lines) + "\n\n" + note + "\n"


def render(layout: dict, csv: str, md: str) -> pd.DataFrame:
    """Table 1 of ``layout`` to ``csv`` (one line per row, column and metric) and ``md``."""
    df = collect(layout)
    compare = layout.get("compare_to_paper", False)
    if compare:
        df = with_paper(df)
    tests = significance.table_tests(layout)  # the paired tests against the config's baselines
    df = significance.annotate(df, tests, df["column"] + " " + df["metric"])
    write_text(csv, df.to_csv(index=False, float_format="%.4g"))
    write_text(md, markdown(df, compare) + "\n" + significance.footnote(tests, layout))
    return df
