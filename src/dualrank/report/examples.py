"""Tables of examples with their text: Table 3 (kind ``discrepancy``) and Tables 10, 11 (kind
``disagreement``). Each uses the first seed listed of each row; definitions in
:mod:`dualrank.report.scores`.

``discrepancy`` params: ``low`` / ``high`` (row names; default the first CA row / the first DE
row), ``evaluation`` (default the layout's first, else "dev"), ``split`` (qrels/queries split,
default the evaluation's name), ``rel_level`` (1), ``top`` (10), ``max_chars`` (300, Markdown only),
``by_query`` (z-score within each query, default false: over all pairs), ``distinct`` (each query
and each passage at most once, default true).

``disagreement`` params: ``models`` (the two row names, default the layout's two rows),
``better`` (the row whose wins are listed: Table 10 lists the queries where margin MSE has the
higher per-query MRR@10, Table 11 those where softmax CE has), ``evaluation`` ("dl19"),
``split``, ``rel_level`` (2: TREC DL's MRR threshold), ``top`` (5), ``max_chars`` (100),
``max_queries`` (default all: the queries with the largest MRR@10 difference first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dualrank.data import contracts
from dualrank.data.io import InputError, write_text
from dualrank.report import common, scores


def texts(path: Path, kind: str, ids) -> dict[str, str]:
    """id -> text for ``ids`` only, streamed (the MS MARCO corpus is 3 GB of text)."""
    id_col = {"corpus": "doc_id", "queries": "query_id"}[kind]
    wanted = pa.array(sorted(set(ids)), pa.string())
    out: dict[str, str] = {}
    for batch in contracts.open_parquet(path, kind).iter_batches(columns=[id_col, "text"]):
        t = pa.Table.from_batches([batch])
        t = t.filter(pc.is_in(t.column(id_col), value_set=wanted))
        out.update(zip(t.column(id_col).to_pylist(), t.column("text").to_pylist()))
    missing = [i for i in wanted.to_pylist() if i not in out]
    if missing:
        raise InputError(f"{path}: {len(missing)} {id_col}(s) of the runs are missing, first {missing[0]!r}")
    return out


def evaluation_of(layout: dict, default: str) -> tuple[str, str]:
    p = layout["params"]
    ev = p.get("evaluation") or (layout.get("evaluations") or [default])[0]
    return ev, p.get("split", ev)


def run_of(cell: dict, evaluation: str) -> pd.DataFrame:
    return contracts.read(Path(cell["dir"]) / f"{evaluation}.run.parquet", "run")


def pick(layout: dict, name: str | None, arch: str) -> tuple[str, dict]:
    runs = common.first_seed(layout)
    if name is None:
        name = next((r for r, c in runs.items() if c.get("arch") == arch), None)
    if name not in runs:
        raise InputError(f"layout {layout['name']!r}: no row {name!r} (rows: {list(runs)}); "
                         f"name it in params or give a row of arch {arch!r}")
    return name, runs[name]


def discrepancy_table(layout: dict, csv: str, md: str) -> pd.DataFrame:
    p = layout["params"]
    ev, split = evaluation_of(layout, "dev")
    data = Path(layout["data_dir"])
    qrels = contracts.read(data / f"qrels-{split}.parquet", "qrels")
    (lo, lo_cell), (hi, hi_cell) = pick(layout, p.get("low"), "ca"), pick(layout, p.get("high"), "de")
    lo_pairs = scores.labelled(run_of(lo_cell, ev), qrels, p.get("rel_level", 1))
    hi_pairs = scores.labelled(run_of(hi_cell, ev), qrels, p.get("rel_level", 1))
    by_query, distinct, top = bool(p.get("by_query", False)), bool(p.get("distinct", True)), int(p.get("top", 10))
    d = scores.discrepancy(lo_pairs, hi_pairs, (lo, hi), by_query)
    d = scores.distinct(d, top) if distinct else d.head(top)
    d = d.merge(lo_pairs[["query_id", "doc_id", "label"]], on=["query_id", "doc_id"], how="left")
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    q = texts(data / f"queries-{split}.parquet", "queries", d["query_id"])
    c = texts(data / "corpus.parquet", "corpus", d["doc_id"])
    d["query"], d["passage"] = d["query_id"].map(q), d["doc_id"].map(c)
    d = d.rename(columns={"score_low": f"{lo} score", "score_high": f"{hi} score",
                          "z_low": f"{lo} z", "z_high": f"{hi} z"})
    write_text(csv, d.to_csv(index=False, float_format="%.4f"))
    n = int(p.get("max_chars", 300))
    lines = [f"**{layout.get('title', layout['name'])}**", "",
             f"| # | Query | Passage | Label | {lo} score | {hi} score | {hi} z − {lo} z |", "|---" * 7 + "|"]
    for _, x in d.iterrows():
        lines.append(f"| {x['rank']} | {common.md_escape(x['query'])} | "
                     f"{common.md_escape(common.truncate(x['passage'], n))} | {x['label']} | "
                     f"{x[f'{lo} score']:.3f} | {x[f'{hi} score']:.3f} | {x['discrepancy']:.2f} |")
    lines += ["", f"Pairs of judged {ev} queries that both models re-ranked; each model's scores are "
              f"z-scored {'within each query' if by_query else 'over all those pairs'}, and the pairs with "
              f"the largest {hi} z − {lo} z ({hi} high, {lo} low) are shown"
              f"{', each query and each passage once' if distinct else ''}. "
              "Label: qrels grade (0: not judged relevant)."]
    write_text(md, "\n".join(lines) + "\n")
    return d


def marked(grade, text: str, rel_level: int, n: int) -> str:
    """A passage with its grade: bold when relevant (grade >= rel_level), "–" when unjudged."""
    g = "–" if pd.isna(grade) else str(int(grade))
    s = f"[{g}] {common.md_escape(common.truncate(text, n))}"
    return f"**{s}**" if not pd.isna(grade) and grade >= rel_level else s
