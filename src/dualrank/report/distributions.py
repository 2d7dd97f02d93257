"""Score figures (paper §3.3, C.3, C.5): densities of positive and negative pair scores and of
normalised margins (kind ``score_distributions``: Figures 2, 5, 6, 8), and the same densities
at training snapshots (kind ``snapshots``: Figure 7). Each row (CA, DE, DIST) is drawn from
its first seed listed. Definitions in :mod:`dualrank.report.scores`.

``score_distributions`` params: ``source`` ("run": an evaluation's re-ranked candidates joined
with its qrels, default; "train": train-scores.parquet), ``evaluation``, ``split``,
``rel_level`` (1), ``centre`` (subtract each model's mean score, default true), ``density``
(rows with a score panel, default all), ``margins`` (rows in one normalised-margin panel,
default none), ``bins`` (60).

``snapshots`` params: ``stages`` (default every stage of snapshots.parquet, in training order),
``centre`` (true), ``rel_level`` (1), ``bins`` (40). Rows of panels are stages, columns models.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import InputError, write_text
from dualrank.report import common, scores
from dualrank.report.figures import legend_outside, palette, plt, save, style

CLASSES = (("positive", "Positive", "tab:blue"), ("negative", "Negative", "tab:orange"))
SNAPSHOT = {"stage": "str", "step": "int", "query_id": "str", "doc_id": "str", "label": "int", "score": "float"}


def pairs_of(layout: dict, cell: dict) -> pd.DataFrame:
    """query_id, doc_id, score, label, positive of one run on the figure's pairs."""
    p = layout["params"]
    rel = int(p.get("rel_level", 1))
    if p.get("source", "run") == "train":
        df = common.read_table(Path(cell["dir"]) / "train-scores.parquet",
                               {"query_id": "str", "doc_id": "str", "label": "int", "score": "float"})
        return df.assign(positive=df["label"] >= rel)
    ev = p.get("evaluation") or (layout.get("evaluations") or ["dev"])[0]
    qrels = contracts.read(Path(layout["data_dir"]) / f"qrels-{p.get('split', ev)}.parquet", "qrels")
    return scores.labelled(contracts.read(Path(cell["dir"]) / f"{ev}.run.parquet", "run"), qrels, rel)


def class_panel(ax, df: pd.DataFrame, centre: bool, bins: int, xlabel: str, stats: list, key: dict) -> None:
    x = scores.centre(df["score"]) if centre else df["score"].to_numpy(dtype="float64")
    parts = {c: x[(df["positive"] == (c == "positive")).to_numpy()] for c, _, _ in CLASSES}
    edges = scores.shared_edges([x], bins)
    for c, label, colour in CLASSES:
        ax.stairs(scores.density(parts[c], edges), edges, fill=True, alpha=0.45, color=colour, label=label)
        stats.append({**key, "class": c, **scores.summary(parts[c])})
    ax.set(xlabel=xlabel, ylabel="Density")


def margin_panel(ax, margins: dict[str, object], bins: int, stats: list) -> None:
    edges = scores.shared_edges(list(margins.values()), bins)
    colours = palette(margins)
    for row, m in margins.items():
        ax.stairs(scores.density(m, edges), edges, fill=True, alpha=0.25, color=colours[row])
        ax.stairs(scores.density(m, edges), edges, color=colours[row], linewidth=1.5, label=row)
        stats.append({"panel": "margins", "row": row, "class": "margin", **scores.summary(m)})
    ax.set(xlabel="Normalised margin", ylabel="Density")
    legend_outside(ax)


def score_distributions(layout: dict, png: str, pdf: str, csv: str | None = None) -> pd.DataFrame:
    p, runs = layout["params"], common.first_seed(layout)
    dens, marg = p.get("density", list(runs)), p.get("margins", [])
    unknown = [r for r in dens + marg if r not in runs]
    if unknown or not dens + marg:
        raise InputError(f"layout {layout['name']!r}: params name unknown rows {unknown} or none (rows: {list(runs)})")
    pairs = {r: pairs_of(layout, runs[r]) for r in dict.fromkeys(dens + marg)}
    centre, bins, stats = bool(p.get("centre", True)), int(p.get("bins", 60)), []
    style()
    n = len(dens) + bool(marg)
    fig, axes = plt.subplots(1, n, figsize=(4.0 * n + 1.2, 3.4), squeeze=False, layout="constrained")
    for ax, r in zip(axes[0], dens):
        class_panel(ax, pairs[r], centre, bins, f"{r} score" + (" (centred)" if centre else ""), stats,
                    {"panel": "scores", "row": r})
    if dens:
        legend_outside(axes[0][len(dens) - 1])
    if marg:
        margin_panel(axes[0][-1], {r: scores.normalised_margins(pairs[r]) for r in marg}, bins, stats)
    return finish(fig, layout, png, pdf, csv, stats)


def finish(fig, layout: dict, png: str, pdf: str, csv: str | None, stats: list[dict]) -> pd.DataFrame:
    """Title, PNG and PDF, and the plotted numbers as CSV."""
    fig.suptitle(layout.get("title", layout["name"]), fontsize="medium")
    save(fig, png, pdf, layout)
    out = pd.DataFrame(stats)
    if csv:
        write_text(csv, out.to_csv(index=False, float_format="%.4f"))
    return out


def snapshots(layout: dict, png: str, pdf: str, csv: str | None = None) -> pd.DataFrame:
    p, runs = layout["params"], common.first_seed(layout)
    rel, centre, bins = int(p.get("rel_level", 1)), bool(p.get("centre", True)), int(p.get("bins", 40))
    data = {r: common.read_table(Path(c["dir"]) / "snapshots.parquet", SNAPSHOT) for r, c in runs.items()}
    stages = p.get("stages") or scores.stage_order(pd.concat([d["stage"] for d in data.values()]))
    style()
    fig, axes = plt.subplots(len(stages), len(runs), figsize=(3.6 * len(runs) + 1.0, 2.8 * len(stages)), squeeze=False,
                             layout="constrained")
    stats = []
    for i, stage in enumerate(stages):
        for j, (r, d) in enumerate(data.items()):
            s = d[d["stage"] == stage]
            if s.empty:
                raise InputError(f"{runs[r]['dir']}/snapshots.parquet: no stage {stage!r} "
                                 f"(has {sorted(set(d['stage']))})")
            step = int(s["step"].iloc[0])
            class_panel(axes[i][j], s.assign(positive=s["label"] >= rel), centre, bins,
                        f"{r} score" + (" (centred)" if centre else ""),
                        stats, {"stage": stage, "step": step, "row": r})
            when = {"init": "initialisation", "final": f"end (last step, {step:,})"}.get(stage, f"step {step:,}")
            axes[i][j].set_title(f"{r}, {when}", fontsize="small")
    legend_outside(axes[0][-1])
    return finish(fig, layout, png, pdf, csv, stats)
