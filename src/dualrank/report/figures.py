"""Metric figures: MRR@10 against embedding size (Figures 1, 3; kind ``embedding_size``) and
learning curves (Figure 4; kind ``learning_curve``). Drawing helpers shared with the score
figures (:mod:`dualrank.report.distributions`) live here too.

``embedding_size`` params: ``sets`` (default ["train"] + the layout's evaluations): "train" is
train.json's train_mrr@10, any other an evaluation of metrics.json. x is each cell's ``hidden``
(else the width in its encoder's name, see :func:`width`); one line per row (CA, DE, DIST), mean
over seeds with a ± 1 sample-std band (none with one seed). With compare_to_paper the paper's
Table 2 values of the same encoder (CA and DE only; the paper prints no DIST numbers) are drawn
dashed.

``learning_curve`` params: ``valid_label`` (default "validation": the held-out queries early
stopping uses, not the dev set the tables report). Lines: train and validation MRR@10 from
curve.parquet against step, one colour per row, mean over seeds, with a ± 1 sample-std band
where a row has two or more seeds.

Every figure is written with :func:`save`: tick labels thinned until none overlap, legends
outside the plotting area, and the provenance footer under the panels.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: E402

from dualrank.data.io import InputError, atomic_output, write_text  # noqa: E402
from dualrank.report import common, provenance  # noqa: E402

KNOWN = ("CA", "DE", "DIST")


def palette(names) -> dict[str, tuple]:
    """Fixed colours: CA, DE and DIST look the same in every figure."""
    base = sns.color_palette("deep", 10)
    others = iter(c for i, c in enumerate(base) if i >= len(KNOWN))
    return {n: base[KNOWN.index(n)] if n in KNOWN else next(others) for n in names}


def sd_band(v) -> tuple[float, float]:
    """Mean ± sample std (ddof 1), the spread the tables print."""
    sd = float(np.std(v, ddof=1))
    return float(np.mean(v) - sd), float(np.mean(v) + sd)


def style() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def legend_outside(ax, **kw) -> None:
    """The axes' legend to its right, outside the plotting area, so that it covers no data
    (constrained layout makes room for it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", **kw)


def _overlap(labels, renderer) -> bool:
    # Padded by about a character in all: labels that nearly touch ("-1.00-0.75") count as crowded.
    boxes = [t.get_window_extent(renderer).padded(0.5 * t.get_fontsize()) for t in labels
             if t.get_visible() and t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def fit_ticks(fig) -> None:
    """Tick labels that do not collide: tiny values in scientific notation (an offset over the
    axis instead of "-0.0025" on every tick), then fewer ticks on any axis whose labels still
    overlap at the size the figure is written."""
    for ax in fig.axes:
        for axis in ("x", "y"):
            lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
            scalar = isinstance(getattr(ax, f"{axis}axis").get_major_formatter(), ScalarFormatter)
            if scalar and max(abs(lo), abs(hi)) < 0.05:
                ax.ticklabel_format(axis=axis, style="sci", scilimits=(-2, 3))
    for _ in range(6):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        crowded = [a for ax in fig.axes for a in (ax.xaxis, ax.yaxis) if _overlap(a.get_ticklabels(), renderer)]
        if not crowded:
            return
        for a in crowded:
            lo, hi = sorted(a.get_view_interval())
            shown = sum(lo <= x <= hi for x in a.get_majorticklocs())
            a.set_major_locator(MaxNLocator(nbins=max(shown - 2, 2), steps=[1, 2, 2.5, 5, 10]))


def save(fig, png: str, pdf: str, layout: dict | None = None) -> None:
    """Both formats, atomically, with legible ticks and the provenance footer under the panels
    (preset, encoder sizes, seeds, std, commit); no timestamps, so the same data and commit give
    the same bytes."""
    if layout is not None:
        width = fig.get_size_inches()[0]
        fig.supxlabel(textwrap.fill(provenance.text(layout.get("provenance")), int(width * 15)),
                      fontsize="x-small", color="0.35")
    fit_ticks(fig)
    for path, fmt, meta in ((png, "png", {"Software": None}), (pdf, "pdf", {"CreationDate": None})):
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def width(cell: dict) -> int:
    """The embedding size of a cell's encoder: its ``hidden`` (the encoder actually trained, e.g. a
    demo shape), else the width in the paper's name (bert-{layers}-{hidden}; bert-base is 768)."""
    if cell.get("hidden") is not None:
        return int(cell["hidden"])
    name = cell.get("encoder", "")
    m = re.fullmatch(r"bert-\d+-(\d+)", name)
    if m or name == "bert-base":
        return int(m.group(1)) if m else 768
    raise InputError(f"cell {cell['dir']}: no 'hidden' and encoder {name!r} does not name its width")


def embedding_data(layout: dict) -> pd.DataFrame:
    sets = layout["params"].get("sets") or ["train"] + [e for e in layout.get("evaluations") or ["dev"]
                                                         if e != "train"]
    lines = []
    for row, cells in common.rows(layout).items():
        for c in cells:
            hidden = width(c)
            for s in sets:
                lines.append({"row": row, "encoder": c.get("encoder", ""), "hidden": hidden,
                              "seed": c.get("seed", 0), "set": s, "value": common.metric(c, s)})
    return pd.DataFrame(lines)


def embedding_size(layout: dict, png: str, pdf: str, csv: str | None = None) -> pd.DataFrame:
    df = embedding_data(layout)
    agg = (df.groupby(["row", "encoder", "hidden", "set"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
                seeds="count").reset_index())
    ref = common.paper("table2") if layout.get("compare_to_paper") else {}
    agg["paper"] = [ref.get((e, f"{r} {s} mrr@10"), np.nan) for r, e, s in zip(agg["row"], agg["encoder"], agg["set"])]
    style()
    sets, colours = list(dict.fromkeys(df["set"])), palette(dict.fromkeys(df["row"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.4 * len(sets) + 1.2, 3.6), squeeze=False, layout="constrained")
    for ax, s in zip(axes[0], sets):
        d = agg[agg["set"] == s]
        for row, g in d.groupby("row", sort=False):
            g = g.sort_values("hidden")
            ax.plot(g["hidden"], g["mean"], marker="o", color=colours[row], label=row)
            ax.fill_between(g["hidden"], g["mean"] - g["std"], g["mean"] + g["std"], color=colours[row], alpha=0.2)
            if g["paper"].notna().any():
                ax.plot(g["hidden"], g["paper"], ls="--", marker="x", color=colours[row], label=f"{row} (paper)")
        ax.set_xticks(sorted(df["hidden"].unique()))
        ax.set(xlabel="Embedding size", ylabel=f"MRR@10 {s}")
    legend_outside(axes[0][-1], title="model")
    fig.suptitle(layout.get("title", layout["name"]), fontsize="medium")
    save(fig, png, pdf, layout)
    if csv:
        write_text(csv, agg.to_csv(index=False, float_format="%.4f"))
    return agg


def learning_curve(layout: dict, png: str, pdf: str, csv: str | None = None) -> pd.DataFrame:
    valid = layout["params"].get("valid_label", "validation")
    parts = []
    for row, cells in common.rows(layout).items():
        for c in cells:
            cur = common.read_table(Path(c["dir"]) / "curve.parquet",
                                    {"step": "int", "train_mrr@10": "float", "valid_mrr@10": "float"})
            for col, s in (("train_mrr@10", "train"), ("valid_mrr@10", valid)):
                parts.append(pd.DataFrame({"row": row, "seed": c.get("seed", 0), "step": cur["step"],
                                           "set": s, "value": cur[col]}))
    df = pd.concat(parts, ignore_index=True)
    style()
    fig, ax = plt.subplots(figsize=(6.8, 3.8), layout="constrained")
    # A ± 1 std band only where a row has two or more seeds: one seed has no spread to draw.
    several = df.groupby("row")["seed"].nunique().max() > 1
    sns.lineplot(data=df.rename(columns={"row": "model"}), x="step", y="value", hue="model", style="set",
                 errorbar=sd_band if several else None, palette=palette(dict.fromkeys(df["row"])), ax=ax)
    ax.set(xlabel="Training step", ylabel="MRR@10")
    legend_outside(ax)
    ax.set_title(layout.get("title", layout["name"]), fontsize="medium")
    save(fig, png, pdf, layout)
    agg = (df.groupby(["row", "set", "step"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
                seeds="count").reset_index())
    if csv:
        write_text(csv, agg.to_csv(index=False, float_format="%.4f"))
    return agg
