"""Tables 10 and 11 (paper C.11): the TREC DL19 queries on which two runs (margin MSE and softmax
CE) disagree on per-query MRR@10 (grade >= 2 relevant), with each run's top passages marked by
their qrels grade. One table lists the queries one run wins (``params.better``); the Markdown
also counts the queries they agree on and each one's wins, beside the paper's counts.

The paper's own Tables 10 and 11 are one list (the 6 queries margin MSE wins) split over two
pages; here Table 10 lists margin MSE's wins (that list) and Table 11 softmax CE's wins, the
4 cases the paper counts but does not print. Params in :mod:`dualrank.report.examples`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dualrank.data import contracts
from dualrank.retrieval import metrics
from dualrank.data.io import InputError, write_text
from dualrank.report import common, examples, scores


def models_of(layout: dict) -> tuple[list[str], list[dict]]:
    runs = common.first_seed(layout)
    names = layout["params"].get("models") or list(runs)
    if len(names) != 2 or any(n not in runs for n in names):
        raise InputError(f"layout {layout['name']!r}: params.models must name two of the rows {list(runs)} "
                         f"(got {names})")
    return names, [runs[n] for n in names]


def render(layout: dict, csv: str, md: str) -> pd.DataFrame:
    p = layout["params"]
    ev, split = examples.evaluation_of(layout, "dl19")
    rel, top, n = int(p.get("rel_level", 2)), int(p.get("top", 5)), int(p.get("max_chars", 100))
    names, cells = models_of(layout)
    better = p.get("better", names[0])
    if better not in names:
        raise InputError(f"layout {layout['name']!r}: params.better {better!r} is not one of {names}")
    data = Path(layout["data_dir"])
    qrels = contracts.read(data / f"qrels-{split}.parquet", "qrels")
    runs = [examples.run_of(c, ev) for c in cells]
    per_query = [metrics.evaluate(r, qrels, rel, run_name=f"{c['dir']}/{ev}.run.parquet")[1]
                 for r, c in zip(runs, cells)]
    d = scores.disagreement(*per_query)
    side = "a" if better == names[0] else "b"
    shown = d[d["better"] == side].copy()
    shown["gap"] = (shown["mrr@10_a"] - shown["mrr@10_b"]).abs()
    shown = shown.sort_values(["gap", "query_id"], ascending=[False, True], kind="stable")
    if p.get("max_queries"):
        shown = shown.head(int(p["max_queries"]))
    tops = [metrics.top_k(r[r["query_id"].isin(shown["query_id"])], top) for r in runs]
    grade = {(q, doc): g for q, doc, g in zip(qrels["query_id"], qrels["doc_id"], qrels["relevance"])}
    lines = []
    for q, ma, mb in zip(shown["query_id"], shown["mrr@10_a"], shown["mrr@10_b"]):
        ranked = [t[t["query_id"] == q]["doc_id"].tolist() for t in tops]
        for i in range(max(map(len, ranked))):
            line = {"query_id": q, f"{names[0]} mrr@10": ma, f"{names[1]} mrr@10": mb, "rank": i + 1}
            for name, docs in zip(names, ranked):
                doc = docs[i] if i < len(docs) else None
                line[f"{name} doc_id"] = doc
                line[f"{name} grade"] = grade.get((q, doc), np.nan) if doc else np.nan
            lines.append(line)
    cols = ["query_id", f"{names[0]} mrr@10", f"{names[1]} mrr@10", "rank"] + [
        f"{m} {k}" for m in names for k in ("doc_id", "grade", "passage")]
    out = pd.DataFrame(lines, columns=[c for c in cols if not c.endswith("passage")])
    qtext = examples.texts(data / f"queries-{split}.parquet", "queries", out["query_id"]) if lines else {}
    docs = pd.concat([out[f"{m} doc_id"] for m in names]).dropna()
    ptext = examples.texts(data / "corpus.parquet", "corpus", docs) if lines else {}
    out.insert(1, "query", out["query_id"].map(qtext))
    for m in names:
        out.insert(out.columns.get_loc(f"{m} grade") + 1, f"{m} passage", out[f"{m} doc_id"].map(ptext))
    write_text(csv, out.to_csv(index=False, float_format="%.4f"))
    write_text(md, markdown(layout, out, d, names, better, (ev, rel, top, n)))
    return out


def markdown(layout: dict, out: pd.DataFrame, d: pd.DataFrame, names: list[str], better: str, how) -> str:
    ev, rel, top, n = how
    counts = {"agree": int((d["better"] == "agree").sum()), f"{names[0]} better": int((d["better"] == "a").sum()),
              f"{names[1]} better": int((d["better"] == "b").sum())}
    ref = common.paper(layout["name"]) if layout.get("compare_to_paper") else {}
    said = ", ".join(f"{k}: {v}" + (f" (paper: {ref[('queries', k)]:.0f})" if ("queries", k) in ref else "")
                     for k, v in counts.items())
    lines = [f"**{layout.get('title', layout['name'])}**", "",
             f"{len(d)} judged {ev} queries; per-query MRR@10 (grade ≥ {rel} relevant) — {said}.", "",
             f"Queries where {better} has the higher MRR@10, and each run's top {top} passages "
             f"([grade], bold: grade ≥ {rel}, –: not judged).", "",
             f"| Query | # | {names[0]} | {names[1]} |", "|---|---|---|---|"]
    if out.empty:
        lines.append(f"| (no query where {better} is better) | | | |")
    elif out["query_id"].nunique() < counts[f"{better} better"]:
        lines.insert(-2, f"The {out['query_id'].nunique()} with the largest MRR@10 difference are shown.\n")
    for _, x in out.iterrows():
        query = (f"{common.md_escape(x['query'])} (MRR@10 {x[f'{names[0]} mrr@10']:.3f} vs "
                 f"{x[f'{names[1]} mrr@10']:.3f})" if x["rank"] == 1 else "")
        cells = [examples.marked(x[f"{m} grade"], x[f"{m} passage"], rel, n)
                 if isinstance(x[f"{m} doc_id"], str) else "" for m in names]
        lines.append(f"| {query} | {x['rank']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
