"""Metric figures: MRR@10 against embedding size (Figures 1, 3; kind ``embedding_size``) and
learning curves (Figure 4; kind ``learning_curve``). Drawing helpers shared with the score
figures (:mod:`dualrank.report.distributions`) live here too.

``embedding_size`` params: ``sets`` (default ["train"] + the layout's evaluations): "train" is
train.json's train_mrr@10, any other an evaluation of metrics.json. x is each cell's ``hidden``
(else the width in its encoder's name, see :func:`width`);
one line per row (CA, DE, DIST), mean over seeds with a ± 1 std band. With compare_to_paper the
paper's Table 2 values of the same encoder (CA and DE only; the paper prints no DIST numbers)
are drawn dashed.

``learning_curve`` params: ``valid_label`` (default "dev": the paper early-stops and draws its
curve on a dev slice). Lines: train and valid MRR@10 from curve.parquet against step, one colour
per row, mean over seeds with a ± 1 std band.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from dualrank.data.io import InputError, atomic_output, write_text  # noqa: E402
from dualrank.report import common  # noqa: E402

KNOWN = ("CA", "DE", "DIST")


def palette(names) -> dict[str, tuple]:
    """Fixed colours: CA, DE and DIST look the same in every figure."""
    base = sns.color_palette("deep", 10)
    others = iter(c for i, c in enumerate(base) if i >= len(KNOWN))
    return {n: base[KNOWN.index(n)] if n in KNOWN else next(others) for n in names}


def sd_band(v) -> tuple[float, float]:
    """Mean ± population std (ddof 0), the spread the tables print."""
    return float(np.mean(v) - np.std(v)), float(np.mean(v) + np.std(v))


def style() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def save(fig, png: str, pdf: str) -> None:
    """Both formats, atomically; no timestamps, so the same data gives the same bytes."""
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
           .agg(mean="mean", std=lambda v: float(np.std(v)), seeds="count").reset_index())
    ref = common.paper("table2") if layout.get("compare_to_paper") else {}
    agg["paper"] = [ref.get((e, f"{r} {s} mrr@10"), np.nan) for r, e, s in zip(agg["row"], agg["encoder"], agg["set"])]
    style()
    sets, colours = list(dict.fromkeys(df["set"])), palette(dict.fromkeys(df["row"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.4 * len(sets), 3.6), squeeze=False, layout="constrained")
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
        ax.legend(title="model", fontsize="small")
    fig.suptitle(layout.get("title", layout["name"]), fontsize="medium")
    save(fig, png, pdf)
    if csv:
        write_text(csv, agg.to_csv(index=False, float_format="%.4f"))
    return agg


def learning_curve(layout: dict, png: str, pdf: str, csv: str | None = None) -> pd.DataFrame:
    valid = layout["params"].get("valid_label", "dev")
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
    fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")
    sns.lineplot(data=df.rename(columns={"row": "model"}), x="step", y="value", hue="model", style="set",
                 errorbar=sd_band, palette=palette(dict.fromkeys(df["row"])), ax=ax)
    ax.set(xlabel="Training step", ylabel="MRR@10")
    ax.legend(fontsize="small")
    ax.set_title(layout.get("title", layout["name"]), fontsize="medium")
    save(fig, png, pdf)
    agg = (df.groupby(["row", "set", "step"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: float(np.std(v)), seeds="count").reset_index())
    if csv:
        write_text(csv, agg.to_csv(index=False, float_format="%.4f"))
    return agg
