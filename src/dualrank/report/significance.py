"""Paired significance tests of a table's rows against its baseline row(s), with Holm-Bonferroni
correction over all tests of the table.

Each test pairs two cells' per-query scores (:func:`dualrank.report.cells.per_query`: RR@10 or
nDCG@10 of every judged query, averaged over a row's seeds query by query) and is two-sided:
``scipy.stats.ttest_rel`` (``test: t``, the default) or ``scipy.stats.permutation_test`` with
``permutation_type="samples"`` (``test: permutation``: the sign of each query's difference is
flipped at random, ``permutations`` resamples from ``seed``; exact when 2^n is fewer). The
p-values of a table are corrected together by ``statsmodels.stats.multitest.multipletests``
(``method="holm"``). A test without a p-value (no per-query scores, as for train.json's train
MRR@10; every difference zero, where the t statistic is undefined) is reported as NaN and left
out of the correction, so that it shifts no other test's correction. Two cells whose query sets
differ are an error naming a query.

The layout's ``significance`` (config.yaml's ``significance`` block, :func:`dualrank.grid.significance`)::

    {"test": "t", "alpha": 0.05, "permutations": 10000, "seed": 0,
     "baselines": [{"row": "Dual-encoder BERT (6-layer)"}, {"row": R, "rows": [...]}, {"arch": "ca"}]}

A baseline ``row`` is compared with every other row (or those of ``rows``) column by column;
``arch`` compares, within each row, each column with the same evaluation and metric of that
arch (Table 2: DE against CA per encoder size). Effect sizes: the mean per-query difference
(row − baseline) and Cohen's d_z (that mean over the differences' sample std).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from dualrank.data.io import InputError
from dualrank.report import cells as cells_mod

TESTS = {"t": "paired two-sided t-test (scipy.stats.ttest_rel)",
         "permutation": "paired two-sided permutation test (scipy.stats.permutation_test)"}
UP, DOWN = "▲", "▼"
COLUMNS = ["baseline", "baseline_column", "n_queries", "mean_diff", "d_z", "p", "p_holm", "significant"]


@dataclass(frozen=True)
class Settings:
    test: str = "t"
    alpha: float = 0.05
    permutations: int = 10000
    seed: int = 0

    @classmethod
    def of(cls, sig: dict | None) -> Settings:
        sig = sig or {}
        s = cls(**{k: sig[k] for k in ("test", "alpha", "permutations", "seed") if k in sig})
        if s.test not in TESTS:
            raise InputError(f"significance.test: {s.test!r} is not one of {sorted(TESTS)}")
        return s

    def describe(self) -> str:
        extra = f", {self.permutations} resamples" if self.test == "permutation" else ""
        return TESTS[self.test] + extra


def _mean_diff(x, y, axis):
    return np.mean(x - y, axis=axis)


def paired(a: pd.Series, b: pd.Series, settings: Settings, names: tuple[str, str] = ("a", "b")) -> dict:
    """Test ``a`` against ``b`` (per-query scores indexed by query id) over their shared queries,
    which must be all of either's: n_queries, mean_diff (a − b), d_z and the two-sided p."""
    cells_mod.check_same_queries(a, b, *names)
    b = b.loc[a.index]
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    d = x - y
    out = {"n_queries": len(d), "mean_diff": float(d.mean()) if len(d) else np.nan}
    sd = d.std(ddof=1) if len(d) > 1 else np.nan
    out["d_z"] = float(out["mean_diff"] / sd) if sd > 0 else np.nan
    if len(d) < 2:
        return {**out, "p": np.nan}
    with warnings.catch_warnings():  # all differences equal: t undefined, p NaN (reported as such)
        warnings.simplefilter("ignore", RuntimeWarning)
        if settings.test == "t":
            p = stats.ttest_rel(x, y).pvalue
        else:
            p = stats.permutation_test((x, y), _mean_diff, permutation_type="samples", vectorized=True,
                                       n_resamples=settings.permutations, alternative="two-sided",
                                       rng=np.random.default_rng(settings.seed)).pvalue
    return {**out, "p": float(p)}


def holm(p, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm-corrected p-values and rejections; NaN p-values stay NaN, are not rejected, and are
    not counted among the tests."""
    p = np.asarray(p, dtype=float)
    ok = ~np.isnan(p)
    adjusted, reject = np.full(p.shape, np.nan), np.zeros(p.shape, dtype=bool)
    if ok.any():
        reject[ok], adjusted[ok], _, _ = multipletests(p[ok], alpha=alpha, method="holm")
    return adjusted, reject


def comparisons(cells: dict, baselines: list[dict], where: str) -> list[tuple]:
    """(row, column, baseline row, baseline column) of every test the baselines ask for."""
    rows = list(dict.fromkeys(r for r, _ in cells))
    out = []
    for i, b in enumerate(baselines):
        if "row" in b:
            if b["row"] not in rows:
                raise InputError(f"config key significance.baselines.{where}[{i}]: no row {b['row']!r} "
                                 f"(rows: {rows})")
            others = b.get("rows") or [r for r in rows if r != b["row"]]
            for r in others:
                if r not in rows:
                    raise InputError(f"config key significance.baselines.{where}[{i}].rows: no row {r!r}")
                out += [(r, c, b["row"], c) for (rr, c) in cells if rr == r and (b["row"], c) in cells]
        elif "arch" in b:
            for (r, c), cell in cells.items():
                if cell.arch == b["arch"]:
                    continue
                base = [k for k, x in cells.items() if k[0] == r and x.arch == b["arch"]
                        and (x.evaluation, x.metric) == (cell.evaluation, cell.metric)]
                out += [(r, c, r, base[0][1])] if base else []
        else:
            raise InputError(f"config key significance.baselines.{where}[{i}]: give `row` or `arch`")
    return out


def table_tests(layout: dict) -> pd.DataFrame:
    """One line per test of the layout's table (row, column and :data:`COLUMNS`), Holm-corrected
    over all of them; empty when the config declares no baseline for the table."""
    sig = layout.get("significance") or {}
    settings = Settings.of(sig)
    if not sig.get("baselines"):
        return pd.DataFrame(columns=["row", "column", *COLUMNS])
    cells = cells_mod.cells_of(layout)
    cache: dict = {}

    def scores(key):
        if key not in cache:
            cache[key] = cells_mod.per_query(cells[key])
        return cache[key]

    lines = []
    for row, col, brow, bcol in comparisons(cells, sig["baselines"], layout.get("name", "table1")):
        a, b = scores((row, col)), scores((brow, bcol))
        line = {"row": row, "column": col, "baseline": brow, "baseline_column": bcol}
        if a is None or b is None:
            lines.append({**line, "n_queries": 0, "mean_diff": np.nan, "d_z": np.nan, "p": np.nan})
            continue
        lines.append({**line, **paired(a, b, settings, (f"{row} / {col}", f"{brow} / {bcol}"))})
    df = pd.DataFrame(lines, columns=["row", "column", *COLUMNS[:-2]])
    df["p_holm"], df["significant"] = holm(df["p"], settings.alpha)
    return df


def annotate(df: pd.DataFrame, tests: pd.DataFrame, keys: pd.Series | None = None) -> pd.DataFrame:
    """``df`` (a table's lines, one per row and column) with each line's test columns (empty for
    a baseline or untested cell); ``df`` as it is for a table without tests. ``keys``: the lines'
    column keys when not ``df["column"]``."""
    if not len(tests):
        return df
    keys = df["column"] if keys is None else keys
    t = tests.set_index(["row", "column"])[COLUMNS]
    out = df.copy()
    for c in COLUMNS:
        out[c] = [t.loc[(r, k), c] if (r, k) in t.index else np.nan
                  for r, k in zip(df["row"], keys)]
    return out


def marker(line) -> str:
    """▲ / ▼ after a cell significantly above / below its baseline (Holm-corrected), else nothing."""
    sig = line.get("significant") if hasattr(line, "get") else None
    if sig is True or (isinstance(sig, (bool, np.bool_)) and bool(sig)):
        return UP if line["mean_diff"] > 0 else DOWN
    return ""


def footnote(tests: pd.DataFrame, layout: dict) -> str:
    """The Markdown note under a table with tests: the test, the correction, α and the queries."""
    if not len(tests):
        return ""
    s = Settings.of(layout.get("significance"))
    n = len(tests)
    valid = int(tests["p"].notna().sum())
    queries = sorted({int(q) for q in tests["n_queries"] if q > 0})
    base = layout["significance"]["baselines"]
    rows = [b["row"] for b in base if "row" in b]
    what = " or ".join(([f"the baseline row {rows[0]!r}"] if len(rows) == 1 else [])
                       + ([f"its baseline row ({', '.join(rows)}: the CSV's `baseline`)"] if len(rows) > 1 else [])
                       + [f"the {b['arch'].upper()} column of the same row" for b in base if "arch" in b])
    untested = f"; {n - valid} without a p-value (no per-query scores, or no difference) are left out" \
        if valid < n else ""
    return (f"{UP} / {DOWN}: significantly above / below {what} in a {s.describe()} over "
            f"{'/'.join(map(str, queries)) or 'no'} queries (per-query scores averaged over seeds), "
            f"Holm–Bonferroni corrected over the table's {valid} tests{untested}, α = {s.alpha}. "
            "The CSV has every p-value, the corrected one and the effect sizes.\n")
