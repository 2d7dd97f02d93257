"""The scale rehearsal's fits (:mod:`tools.bench.scale`): growth exponents of each stage's time,
peak memory and disk over the fractions, their extrapolation to the real sizes (fraction 1),
the targets they are held to, and docs/scale.md with its log-log plot.

The model is ``y = a + b * f**e`` (``a, b >= 0``), fitted by least squares of the relative
error over a grid of ``e`` in [0, 3]: ``a`` is what a job costs whatever the data (the
interpreter and its imports, torch's ~300 MB; a process's start), ``b * f**e`` what grows with
it, and ``e`` is the growth exponent the targets speak of. A plain log-log slope of ``y`` would
read that constant as slow growth and extrapolate a linear stage far too low. With two
fractions the three numbers are not determined: ``a = 0`` (the plain log-log line) is fitted
and said. With one fraction nothing is fitted. A stage whose fitted growth over the measured
range is within the noise (``FLAT``) gets no exponent ("flat"); it is extrapolated linearly
from its measurements (an upper bound if it is in fact flat).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EXPONENTS = np.round(np.arange(0.0, 3.0001, 0.005), 3)
# Growth below this over the measured fractions is noise: (relative, absolute) per quantity.
# RSS: one job re-run five times at one size (aggregate/nq at 0.1, a 0.7 s job that the 0.5 s
# sampler catches once or twice) peaked at 107-187 MB, so 100 MB of growth is not evidence.
FLAT = {"wall_s": (0.05, 1.0), "rss_mb": (0.05, 100.0), "disk_mb": (0.02, 0.5)}
UNITS = {"wall_s": "s", "rss_mb": "MB", "disk_mb": "MB"}
TARGETS = {"rss_mb": 16 * 1024, "train_rss_mb": 8 * 1024, "time_exponent": 1.15}


def _weighted_ls(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """``a, b >= 0`` minimising sum(((a + b x - y) / y)**2); returns (a, b, sse)."""
    w = 1.0 / y
    A = np.stack([w, x * w], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, np.ones_like(y), rcond=None)
    if a < 0:
        a, b = 0.0, float(np.sum(x * w * w * y) / np.sum((x * w) ** 2))
    if b < 0:
        a, b = float(np.sum(w) / np.sum(w * w)), 0.0
    sse = float(np.sum(((a + b * x - y) * w) ** 2))
    return float(a), float(b), sse


def fit(fractions: list[float], values: list[float], quantity: str) -> dict:
    """The fit of one stage's ``quantity`` (module doc) and its value at fraction 1."""
    f = np.asarray(fractions, dtype=float)
    y = np.maximum(np.asarray(values, dtype=float), 1e-3)
    if len(f) < 2:
        return {"model": "none (one fraction)", "e": None, "at_1": None}
    if len(f) == 2:
        e = float(np.diff(np.log(y))[0] / np.diff(np.log(f))[0])
        return {"model": "log-log line (two fractions)", "a": 0.0, "b": float(y[-1] / f[-1] ** e), "e": e,
                "at_1": float(y[-1] / f[-1] ** e), "flat": False}
    best = min((_weighted_ls(f**e, y) + (float(e),) for e in EXPONENTS), key=lambda r: r[2])
    a, b, _, e = best
    rel, absolute = FLAT[quantity]
    growth = b * (f.max() ** e - f.min() ** e)
    a_lin, b_lin, _ = _weighted_ls(f, y)
    if b == 0 or growth < max(rel * y.min(), absolute):
        return {"model": "flat within noise; linear bound", "a": a_lin, "b": b_lin, "e": None,
                "at_1": a_lin + b_lin, "linear_at_1": a_lin + b_lin, "flat": True}
    return {"model": "a + b f^e", "a": a, "b": b, "e": e, "at_1": a + b, "linear_at_1": a_lin + b_lin,
            "flat": False, "edge": e in (EXPONENTS[0], EXPONENTS[-1])}


def fit_all(measured: dict[float, dict]) -> dict[str, dict]:
    """Per stage: its fits of wall time, peak RSS and disk (stages present at every fraction)."""
    fractions = sorted(measured)
    stages = sorted(set.intersection(*(set(measured[f]) for f in fractions)))
    out = {}
    for stage in stages:
        out[stage] = {q: fit(fractions, [measured[f][stage][q] for f in fractions], q) for q in UNITS}
    return out


def _exp(fq: dict) -> str:
    """The exponent; * where it is the grid's edge (the fit wanted more: read it as "at least")."""
    if fq.get("flat") or fq["e"] is None:
        return "flat" if fq.get("flat") else "-"
    return f"{fq['e']:.2f}" + ("*" if fq.get("edge") else "")


def meets(stage: str, fits: dict) -> tuple[bool | None, str]:
    """Whether a stage's extrapolation meets the targets (module TARGETS), and why not."""
    rss, wall = fits["rss_mb"], fits["wall_s"]
    if rss["at_1"] is None:
        return None, "no fit"
    limit = TARGETS["train_rss_mb"] if stage.startswith("train/") else TARGETS["rss_mb"]
    why = []
    if rss["at_1"] > limit:
        why.append(f"peak RSS {rss['at_1'] / 1024:.1f} GB > {limit / 1024:.0f} GB")
    if wall["e"] is not None and wall["e"] > TARGETS["time_exponent"]:
        why.append(f"time exponent {wall['e']:.2f} > {TARGETS['time_exponent']}")
    return not why, "; ".join(why)


def fits_table(fits: dict[str, dict]) -> str:
    lines = [f"{'stage':<28} {'time exp':>8} {'RSS exp':>7} {'time at 1':>10} {'RSS at 1 GB':>11} "
             f"{'disk at 1 GB':>12}  targets (RSS at 1 if linear)"]
    for stage, s in fits.items():
        ok, why = meets(stage, s)
        at = [s[q]["at_1"] for q in ("wall_s", "rss_mb", "disk_mb")]
        cells = ["-" if v is None else x for v, x in zip(at, (f"{at[0] or 0:.0f} s", f"{(at[1] or 0) / 1024:.2f}",
                                                              f"{(at[2] or 0) / 1024:.2f}"))]
        if s["rss_mb"].get("linear_at_1") is not None:
            why = f"{why} ({s['rss_mb']['linear_at_1'] / 1024:.2f} GB)" if why else why
        verdict = "no fit" if ok is None else ("meets" if ok else f"FAILS: {why}")
        if ok and s["rss_mb"].get("linear_at_1") is not None:
            verdict += f" ({s['rss_mb']['linear_at_1'] / 1024:.2f} GB)"
        lines.append(f"{stage:<28} {_exp(s['wall_s']):>8} {_exp(s['rss_mb']):>7} {cells[0]:>10} "
                     f"{cells[1]:>11} {cells[2]:>12}  {verdict}")
    return "\n".join(lines)


def final_line(fits: dict[str, dict]) -> str:
    rss = [(s["rss_mb"]["at_1"], st) for st, s in fits.items() if s["rss_mb"]["at_1"] is not None]
    exps = [(s["wall_s"]["e"], st) for st, s in fits.items() if s["wall_s"]["e"] is not None]
    x = f"{max(rss)[0] / 1024:.2f} GB ({max(rss)[1]})" if rss else "n/a (no fit)"
    e = f"{max(exps)[0]:.2f} ({max(exps)[1]})" if exps else "n/a (no fit)"
    return f"scale: max extrapolated peak RSS {x}, max time exponent {e}"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = result["fractions"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    grid = np.geomspace(min(fractions), 1.0, 50)
    for ax, q, label in ((axes[0], "wall_s", "wall time (s)"), (axes[1], "rss_mb", "peak RSS (MB)")):
        for i, (stage, s) in enumerate(result["fits"].items()):
            colour, ys = f"C{i % 10}", [result["measured"][str(f)][stage][q] for f in fractions]
            ax.plot(fractions, ys, "os^"[i // 10 % 3], color=colour, label=stage)
            fq = s[q]
            if fq.get("b") is not None:
                e = 1.0 if fq["e"] is None else fq["e"]
                ax.plot(grid, fq["a"] + fq["b"] * grid**e, "--" if fq["e"] is None else "-", color=colour, lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="fraction of the real sizes", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].axhline(TARGETS["rss_mb"], color="k", lw=0.8, ls=":")
    axes[1].legend(fontsize=6, ncol=2)
    fig.suptitle("scale rehearsal: measured (points), fits a + b f^e extended to fraction 1 "
                 "(dashed: flat, linear bound)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fits_file(result: dict) -> dict:
    """What ``dualrank plan`` reads: each stage's fits (fraction 1 = ``sizes_at_1``)."""
    return {"about": "tools/bench/scale.py fits y = a + b f^e of each stage; f = fraction of sizes_at_1",
            "machine": result["machine"], "fractions": result["fractions"], "sizes_at_1": result["sizes_at_1"],
            "stages": result["fits"]}


def write_docs(result: dict, docs: Path, fits_path: Path) -> None:
    from dualrank.data.io import write_text

    plot(result, docs / "scale.png")
    write_text(fits_path, json.dumps(fits_file(result), indent=1) + "\n")
    m = result["machine"]
    rows = ["| stage | fraction | jobs | wall s | peak RSS MB | disk MB |", "|---|---:|---:|---:|---:|---:|"]
    for f in result["fractions"]:
        for stage, s in sorted(result["measured"][str(f)].items()):
            rows.append(f"| {stage} | {f:g} | {s['jobs']} | {s['wall_s']:.1f} | {s['rss_mb']:.0f} | "
                        f"{s['disk_mb']:.1f} |")
    fit_rows = ["| stage | time exponent | RSS exponent | time at 1 (fit; linear) | peak RSS at 1 (fit; linear) "
                "| disk at 1 | targets (fit) |", "|---|---:|---:|---:|---:|---:|---|"]
    for stage, s in result["fits"].items():
        ok, why = meets(stage, s)
        w, r, d = (s[q]["at_1"] for q in ("wall_s", "rss_mb", "disk_mb"))
        wl, rl = (s[q].get("linear_at_1") for q in ("wall_s", "rss_mb"))
        time_cell = "-" if w is None else f"{w / 3600:.2f} h; {wl / 3600:.2f} h"
        rss_cell = "-" if r is None else f"{r / 1024:.2f} GB; {rl / 1024:.2f} GB"
        fit_rows.append(f"| {stage} | {_exp(s['wall_s'])} | {_exp(s['rss_mb'])} | {time_cell} | {rss_cell} | "
                        f"{'-' if d is None else f'{d / 1024:.1f} GB'} | "
                        f"{'no fit' if ok is None else ('meets' if ok else 'FAILS: ' + why)} |")
    load = (f"{m['load_start'][0]:.2f} at the start, {m['load_end'][0]:.2f} at the end (1-minute)"
            if m.get("load_start") and m.get("load_end") else "not recorded")
    text = (MEASURED.format(cpu=m["cpu"], cores=m["cores"], memory=m["memory_gb"], load=load,
                                       fractions=",".join(f"{f:g}" for f in result["fractions"]),
                                       table="\n".join(rows), fits="\n".join(fit_rows),
                                       final=final_line(result["fits"])))
    doc = docs / "scale.md"
    old = doc.read_text() if doc.exists() else f"# Scale rehearsal\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old or END not in old:
        raise ValueError(f"{doc}: no {BEGIN} ... {END} section to write the measurements in")
    head, rest = old.split(BEGIN, 1)
    write_text(doc, f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}")


BEGIN, END = "<!-- scale:begin (written by python -m tools.bench scale --docs) -->", "<!-- scale:end -->"
MEASURED = """
## Measured

Machine: {cpu}, {cores} cores, {memory} GB of memory, shared with other work (load average
{load}). Fractions {fractions}.

{table}

## Fits and extrapolation to the real sizes

{fits}

    {final}

![scale rehearsal](scale.png)
"""
