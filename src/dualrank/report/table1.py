"""Table 1: MRR@10 and nDCG@10 of every method on MS MARCO (re-rank, retrieval), TREC DL19 and
NQ re-ranking, the mean (and std) over seeds, beside the paper's published values.

The layout (``dualrank table1 --layout``, built by :func:`dualrank.grid.table1_layout`) is
config.yaml's ``table1`` block plus ``seeds``, ``results`` and ``compare_to_paper``. The paper's
numbers are src/dualrank/report/reference/table1.csv, with the marks the paper prints beside them:
† quoted from the method's reference, ⋆ "see text" (the paper's 0.000 there is a placeholder, so
no difference is computed against it), ♦ possible label noise (Appendix C.11); an empty value is
"N/A" (not applicable: a CA cannot retrieve) or "—" (not available from the reference).

A row name that states a model size ("(12-layer)") is printed with the size actually trained,
from the encoder's config (:func:`dualrank.report.provenance.row_label`).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dualrank.data.io import InputError, write_text
from dualrank.grid import Run
from dualrank.report import common, provenance, significance

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
                              **dict(zip(("mean", "std"), common.mean_std(v) if v else (np.nan, np.nan))),
                              "seeds": len(v)})
    return pd.DataFrame(lines)


NOTES = {"†": "quoted from the corresponding reference",
         "♦": "see Appendix C.11 of the paper for analysis of potential label noise influencing the results",
         "⋆": "see the paper's text for discussion (its 0.000 is a placeholder, so no difference is computed)"}


def with_paper(df: pd.DataFrame) -> pd.DataFrame:
    """The paper's value, its mark and ours − paper (none against a ⋆ placeholder or a missing value)."""
    ref = paper_values()
    keys = list(zip(df["row"], df["column"]))
    paper = np.array([ref[m].get(k, np.nan) for k, m in zip(keys, df["metric"])], dtype=float)
    mark = [ref[f"{m}_mark"].get(k, "") for k, m in zip(keys, df["metric"])]
    mark = ["" if pd.isna(x) else str(x) for x in mark]
    absent = ["N/A" if str(ref["note"].get(k, "")).startswith("N/A") else "—" for k in keys]
    diff = np.where([x == "⋆" for x in mark], np.nan, df["mean"].to_numpy() - paper)
    return df.assign(paper=paper, paper_mark=mark, paper_absent=absent, diff=diff)


def paper_text(x: pd.Series) -> str:
    """The paper's cell as the paper prints it: 0.370, 0.194†, 0.000⋆, N/A, —."""
    if np.isnan(x["paper"]):
        return x["paper_absent"]
    return f"{x['paper']:.3f}{x['paper_mark']}"


def cell_text(x: pd.Series, compare: bool) -> str:
    s = "N/A" if np.isnan(x["mean"]) else (f"{x['mean']:.3f}{significance.marker(x)}"
                                           + (f" ± {x['std']:.3f}" if x["seeds"] > 1 else ""))
    if compare:
        s += f" ({paper_text(x)}" + ("" if np.isnan(x["diff"]) else f", {x['diff']:+.3f}") + ")"
    return s


def labels(layout: dict) -> dict[str, str]:
    """Row name -> the label printed: the size stated in the name replaced by the size trained."""
    shapes = (layout.get("provenance") or {}).get("encoders", {})
    return {r["name"]: provenance.row_label(r["name"], shapes.get(r.get("encoder", ""))) for r in layout["rows"]}


def markdown(df: pd.DataFrame, compare: bool, layout: dict | None = None) -> str:
    cols = list(dict.fromkeys(df["column"]))
    names = labels(layout) if layout else {}
    head = "| Model | " + " | ".join(f"{c} {m.split('@')[0].upper()}" for c in cols for m in METRICS) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(cols))]
    for row in dict.fromkeys(df["row"]):
        cells = [cell_text(df[(df["row"] == row) & (df["column"] == c) & (df["metric"] == m)].iloc[0], compare)
                 for c in cols for m in METRICS]
        lines.append(f"| {common.md_escape(names.get(row, row))} | " + " | ".join(cells) + " |")
    seeds = int(df["seeds"].max())
    note = "Cells: ours, " + ("mean ± sample std (ddof = 1) over the seeds" if seeds > 1 else "one seed")
    if compare:
        used = [m for m in NOTES if m in set(df["paper_mark"])]
        note += (" (the paper's value as it prints it, ours − paper). N/A: not applicable; —: not available "
                 "from the reference. " + " ".join(f"{m} {NOTES[m]}." for m in used))
    else:
        note += ". This configuration is not the paper's, so its published values are not printed beside it."
    return "**Table 1**\n\n" + "\n".join(lines) + "\n\n" + note.rstrip() + "\n"


def render(layout: dict, csv: str, md: str) -> pd.DataFrame:
    """Table 1 of ``layout`` to ``csv`` (one line per row, column and metric) and ``md``."""
    df = collect(layout)
    compare = layout.get("compare_to_paper", False)
    if compare:
        df = with_paper(df)
    tests = significance.table_tests(layout)  # the paired tests against the config's baselines
    df = significance.annotate(df, tests, df["column"] + " " + df["metric"])
    write_text(csv, df.to_csv(index=False, float_format="%.4g"))
    write_text(md, markdown(df, compare, layout) + "\n" + significance.footnote(tests, layout))
    return df
