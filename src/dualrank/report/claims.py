"""A verdict for each of the paper's claims (``results/claims.{csv,md}``), from the claims
declared in config.yaml (``claims:``, data, not code) and the runs' figures and per-query scores.

A claim compares two terms, or a term with a fixed ``value``::

    {id, text, where, table, a: TERM, relation, b: TERM | value: x, threshold: t}
    TERM = {row, column[, table][, minus: TERM]}   (``minus``: a gap, e.g. CA − DE)

``row`` and ``column`` are the result's row and CSV column key (:mod:`dualrank.report.cells`;
Table 1's "MSMARCO re-rank mrr@10", Table 2's "DE dev mrr@10", a figure's row "DE bert-6-768").
A term's figure is the mean over its seeds; where both terms have per-query scores the claim
is tested with the paired two-sided test of :mod:`dualrank.report.significance` on their
(seed-averaged) per-query scores, and the p-values of all claims are Holm-corrected together.

Relations, with d = a − b and "significant" the corrected test at α:

* ``greater`` / ``less``: held if d > 0 (< 0) and significant; not held if significant the
  other way; else not significant. Without a test (train MRR@10 has no per-query scores): the
  sign of d alone.
* ``at_least``: a ≥ b − threshold: held if d ≥ −threshold; else not held if significant (or
  untested), not significant otherwise.
* ``within``: |d| ≤ threshold: held; else as ``at_least``.
* ``not_greater``: a does not significantly exceed b: not held only if d > 0 and significant
  (untested: if d > 0).
* ``below`` / ``above``: a < value (> value), no test.

A claim whose result, row or column is not in the configuration (or has no figure) is "not run".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dualrank.data.io import InputError, write_text
from dualrank.report import cells as cells_mod
from dualrank.report import common, significance

RELATIONS = ("greater", "less", "at_least", "within", "not_greater", "below", "above")
VERDICTS = ("held", "not held", "not significant", "not run")
SYMBOLS = {"greater": ">", "less": "<", "at_least": "≥", "within": "≈", "not_greater": "≯", "below": "<",
           "above": ">"}
COLUMNS = ["id", "claim", "where", "a", "relation", "b", "threshold", "a_value", "b_value", "diff",
           "n_queries", "d_z", "p", "p_holm", "test", "verdict", "note"]


FIXED = "none: a fixed value"


class NotRun(Exception):
    """A claim's result, row or column that this configuration does not have."""


@dataclass
class Term:
    label: str
    mean: float
    scores: pd.Series | None


def term(spec: dict, default_table: str, grids: dict) -> Term:
    table = spec.get("table", default_table)
    if table not in grids:
        raise NotRun(f"{table} is not in this configuration")
    key = (str(spec["row"]), str(spec["column"]))
    if key not in grids[table]:
        raise NotRun(f"{table} has no cell {key[0]!r} / {key[1]!r}")
    cell = grids[table][key]
    values = cells_mod.seed_values(cell)
    if not values:
        raise NotRun(f"{table} {key[0]!r} / {key[1]!r} has no figure")
    label = f"{key[0]} / {key[1]}" if table == default_table else f"{table}: {key[0]} / {key[1]}"
    t = Term(label, float(np.mean(values)), cells_mod.per_query(cell))
    if "minus" in spec:
        m = term(spec["minus"], table, grids)
        scores = None
        if t.scores is not None and m.scores is not None:
            cells_mod.check_same_queries(t.scores, m.scores, t.label, m.label)
            scores = t.scores - m.scores.loc[t.scores.index]
        t = Term(f"({t.label} − {m.label})", t.mean - m.mean, scores)
    return t


def check(claim: dict, i: int) -> None:
    where = f"config key claims[{i}] ({claim.get('id', '?')})"
    for k in ("id", "text", "where", "a", "relation"):
        if k not in claim:
            raise InputError(f"{where}: missing key {k!r}")
    if claim["relation"] not in RELATIONS:
        raise InputError(f"{where}: relation {claim['relation']!r} is not one of {RELATIONS}")
    if ("b" in claim) == ("value" in claim):
        raise InputError(f"{where}: give exactly one of `b` (a second term) and `value`")
    if claim["relation"] in ("below", "above") and "value" not in claim:
        raise InputError(f"{where}: relation {claim['relation']!r} compares with a `value`")


def verdict(relation: str, d: float, threshold: float, sig: bool | None) -> str:
    """The verdict of ``a relation b`` for d = a − b; ``sig``: the corrected test rejected (None:
    no test)."""
    if relation in ("below", "above"):
        return "held" if (d < 0 if relation == "below" else d > 0) else "not held"
    if relation == "less":
        relation, d = "greater", -d
    if relation == "greater":
        if sig is None:
            return "held" if d > 0 else "not held"
        return ("held" if d > 0 else "not held") if sig else "not significant"
    if relation == "not_greater":
        return "not held" if d > 0 and sig in (True, None) else "held"
    ok = d >= -threshold if relation == "at_least" else abs(d) <= threshold
    if ok:
        return "held"
    return "not held" if sig in (True, None) else "not significant"


def measure(claim: dict, grids: dict, settings: significance.Settings) -> dict:
    line = {"id": claim["id"], "claim": claim["text"], "where": claim["where"], "relation": claim["relation"],
            "threshold": claim.get("threshold", 0.0), "note": ""}
    try:
        a = term(claim["a"], claim.get("table", "table1"), grids)
        b = term(claim["b"], claim.get("table", "table1"), grids) if "b" in claim else None
    except NotRun as e:
        return {**line, "a": str(claim["a"]), "b": str(claim.get("b", claim.get("value"))),
                "verdict": "not run", "note": str(e), "test": "—"}
    bval = b.mean if b else float(claim["value"])
    line.update(a=a.label, b=b.label if b else str(claim["value"]), a_value=a.mean, b_value=bval,
                diff=a.mean - bval)
    if b is None:
        return {**line, "test": FIXED}
    if a.scores is None or b.scores is None:
        return {**line, "test": "none: no per-query scores (train.json's MRR@10), means only"}
    return {**line, "test": settings.describe(), **significance.paired(a.scores, b.scores, settings,
                                                                       (a.label, b.label))}


def evaluate(spec: dict) -> pd.DataFrame:
    """One line per declared claim (:data:`COLUMNS`), in config order."""
    settings = significance.Settings.of(spec.get("significance"))
    grids = {name: cells_mod.cells_of(layout) for name, layout in spec["tables"].items()}
    for i, c in enumerate(spec["claims"]):
        check(c, i)
    df = pd.DataFrame([measure(c, grids, settings) for c in spec["claims"]])
    df = df.reindex(columns=COLUMNS)
    tested = df["test"].isin([settings.describe()])
    df["p_holm"], reject = significance.holm(df["p"].where(tested), settings.alpha)
    verdicts = []
    for i, row in df.iterrows():
        sig = bool(reject[i]) if tested[i] else None
        verdicts.append(row["verdict"] if row["verdict"] == "not run" else
                        verdict(row["relation"], row["diff"], float(row["threshold"] or 0.0), sig))
    df["verdict"] = verdicts
    return df


def _num(x, fmt="{:.3f}") -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else fmt.format(x)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """The claims as read: #, Claim, Where, Measured, Test, Verdict (text)."""
    out = []
    for _, x in df.iterrows():
        if x["verdict"] == "not run":
            measured = f"not run: {x['note']}"
        else:
            rel = SYMBOLS[x["relation"]]
            thr = f" (threshold {x['threshold']:g})" if x["relation"] in ("at_least", "within") else ""
            b = _num(x["b_value"]) if x["test"] == FIXED else f"{x['b']} = {_num(x['b_value'])}"
            measured = f"{x['a']} = {_num(x['a_value'])} {rel} {b}{thr}: Δ {_num(x['diff'], '{:+.3f}')}"
            if pd.notna(x["n_queries"]) and x["n_queries"] > 0:
                measured += f", d_z {_num(x['d_z'], '{:+.2f}')}, {int(x['n_queries'])} queries"
        test = x["test"]
        if pd.notna(x["p"]):
            test = f"{x['test']}: p = {x['p']:.3g}, Holm p = {_num(x['p_holm'], '{:.3g}')}"
        out.append({"#": x["id"], "Claim": x["claim"], "Where": x["where"], "Measured": measured, "Test": test,
                    "Verdict": x["verdict"]})
    return pd.DataFrame(out, columns=["#", "Claim", "Where", "Measured", "Test", "Verdict"])


def markdown(df: pd.DataFrame, spec: dict) -> str:
    s = significance.Settings.of(spec.get("significance"))
    counts = ", ".join(f"{int((df['verdict'] == v).sum())} {v}" for v in VERDICTS)
    lines = [f"**The paper's claims, measured** ({len(df)} claims: {counts})", "",
             "| # | Claim | Where | Measured | Test | Verdict |", "|---|---|---|---|---|---|"]
    for _, x in summary(df).iterrows():
        cells = [common.md_escape(x[c]) for c in ("#", "Claim", "Where", "Measured", "Test")]
        lines.append("| " + " | ".join(cells) + f" | **{x['Verdict']}** |")
    n = int(df["p"].notna().sum())
    note = (f"Each figure is the mean over seeds; tests: {s.describe()} over the queries' scores "
            f"(averaged over seeds), Holm–Bonferroni corrected over the {n} tested claims, α = {s.alpha}. "
            "held: the figures satisfy the claim (and the difference it asserts is significant); not held: "
            "they contradict it (significantly, where tested); not significant: the test cannot tell; "
            "not run: this configuration lacks the result. Claims without per-query scores (train MRR@10) "
            "or against a fixed value are judged on the means alone.")
    return "\n".join(lines) + "\n\n" + note + "\n"


def render(spec: dict, csv: str, md: str, summary_csv: str | None = None) -> pd.DataFrame:
    df = evaluate(spec)
    write_text(csv, df.to_csv(index=False, float_format="%.4g"))
    write_text(md, markdown(df, spec))
    if summary_csv:  # the HTML report's first table (workflow/report/workflow.rst's csv-table)
        # reStructuredText reads "mrr@10" as an e-mail address: escape the "@" there.
        write_text(summary_csv, summary(df).apply(lambda c: c.str.replace("@", r"\@", regex=False)).to_csv(index=False))
    return df
