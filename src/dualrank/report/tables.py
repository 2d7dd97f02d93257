"""Metric tables (Tables 2, 4-9, 12): rows of runs by columns of (evaluation, metric), each cell
the mean ± std over the row's seeds, beside the paper's value and the difference.

Kinds and their ``params``:

* ``metrics`` -- ``columns``: [{"evaluation", "metric", "arch"?, "label"?}], by default MRR@10 and
  nDCG@10 of every layout evaluation (MRR@10 only for ``train``, which is train.json's
  ``train_mrr@10``); ``row_header`` (default "Model").
* ``table2`` -- rows are encoders (each row's cells hold both archs); columns CA and DE MRR@10 of
  each of ``sets`` (default ["train", "dev"]) for ``archs`` (default ["ca", "de"]).

A column with ``arch`` takes only the row's runs of that arch. The reference key of a column
(src/dualrank/report/reference/paper.csv) is "{ARCH} {evaluation} {metric}" or "{evaluation} {metric}".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dualrank.data.io import write_text
from dualrank.report import common, provenance, significance

METRIC_NAMES = {"mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


def columns_of(layout: dict) -> list[dict]:
    p = layout["params"]
    if "columns" in p:
        cols = [dict(c) for c in p["columns"]]
    elif layout["kind"] == "table2":
        cols = [{"evaluation": s, "metric": "mrr@10", "arch": a}
                for s in p.get("sets", ["train", "dev"]) for a in p.get("archs", ["ca", "de"])]
    else:
        evals = layout.get("evaluations") or ["dev"]
        cols = [{"evaluation": e, "metric": m} for e in evals
                for m in (["mrr@10"] if e in ("train", "valid") else ["mrr@10", "ndcg@10"])]
    for c in cols:
        c.setdefault("metric", "mrr@10")
        arch = c.get("arch", "").upper()
        c["key"] = f"{arch + ' ' if arch else ''}{c['evaluation']} {c['metric']}"
        name = METRIC_NAMES.get(c["metric"], c["metric"])
        c.setdefault("label", f"{arch + ' ' if arch else ''}{c['evaluation']} {name}")
    return cols


def collect(layout: dict) -> pd.DataFrame:
    """One line per (row, column): mean, std and number of seeds."""
    lines = []
    for row, cells in common.rows(layout).items():
        for c in columns_of(layout):
            runs = [x for x in cells if "arch" not in c or x.get("arch") == c["arch"]]
            v = [common.metric(x, c["evaluation"], c["metric"]) for x in runs]
            mean, std = common.mean_std(v) if v else (np.nan, np.nan)
            lines.append({"row": row, "column": c["key"], "label": c["label"], "mean": mean, "std": std,
                          "seeds": len(v)})
    return pd.DataFrame(lines)


def with_paper(df: pd.DataFrame, layout: dict) -> pd.DataFrame:
    ref = common.paper(layout["name"])
    common.check_paper_rows(layout, ref)
    paper = np.array([ref.get((r, c), np.nan) for r, c in zip(df["row"], df["column"])], dtype=float)
    return df.assign(paper=paper, diff=df["mean"].to_numpy() - paper)


def cell_text(x: pd.Series, compare: bool) -> str:
    if np.isnan(x["mean"]):
        return "N/A"
    s = f"{x['mean']:.3f}{significance.marker(x)}" + (f" ± {x['std']:.3f}" if x["seeds"] > 1 else "")
    if compare and not np.isnan(x["paper"]):
        s += f" ({x['paper']:.3f}, {x['diff']:+.3f})"
    return s


def markdown(df: pd.DataFrame, layout: dict, compare: bool) -> str:
    labels = list(dict.fromkeys(df["label"]))
    head = f"| {layout['params'].get('row_header', 'Model')} | " + " | ".join(labels) + " |"
    lines = [head, "|" + "---|" * (1 + len(labels))]
    shapes = (layout.get("provenance") or {}).get("encoders", {})
    for row, g in df.groupby("row", sort=False):
        cells = [cell_text(x, compare) for _, x in g.iterrows()]
        # Table 2's rows are encoder names: the size trained beside the paper's name.
        label = f"{row} ({provenance.size(shapes[row])})" if layout["kind"] == "table2" and row in shapes else row
        lines.append(f"| {common.md_escape(label)} | " + " | ".join(cells) + " |")
    seeds = int(df["seeds"].max())
    note = (f"Cells: ours, mean ± sample std (ddof = 1) over the row's seeds (up to {seeds})" if seeds > 1
            else "Cells: ours, one seed")
    note += (" (paper's value, ours − paper)." if compare else
             ". This configuration is not the paper's, so its published values are not printed.")
    title = f"**{layout.get('title', layout['name'])}**\n\n" if layout.get("title") else ""
    return title + "\n".join(lines) + "\n\n" + note + "\n"


def render(layout: dict, csv: str, md: str) -> pd.DataFrame:
    df = collect(layout)
    compare = bool(layout.get("compare_to_paper"))
    if compare:
        df = with_paper(df, layout)
    tests = significance.table_tests(layout)  # the paired tests against the config's baselines
    df = significance.annotate(df, tests)
    write_text(csv, df.to_csv(index=False, float_format="%.4g"))
    write_text(md, markdown(df, layout, compare) + "\n" + significance.footnote(tests, layout))
    return df
