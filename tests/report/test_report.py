"""Every report kind rendered from a tiny hand-made results tree (tmp_path): real PNG/PDF files,
and the CSV numbers checked against hand computations from the scores written here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.report.render import render

ROOT = Path(__file__).resolve().parents[2]

# Dev candidates: (query, doc, CA score); d1, d5, d9 are the relevant ones.
DEV = [("q1", "d1", 5.0), ("q1", "d2", 1.0), ("q1", "d3", 3.0), ("q1", "d4", 0.0),
       ("q2", "d5", 4.0), ("q2", "d6", 2.0), ("q2", "d7", 0.0), ("q2", "d8", 1.0),
       ("q3", "d9", 2.0), ("q3", "d10", 3.0), ("q3", "d11", 0.0), ("q3", "d12", 1.0)]
# DL19 (graded): t1 e1=3, e2=1; t2 e5=2; t3 e10=2.
DL19_QRELS = [("t1", "e1", 3), ("t1", "e2", 1), ("t2", "e5", 2), ("t3", "e10", 2)]
DL19 = {"margin": [("t1", "e1", 0.9), ("t1", "e2", 0.8), ("t1", "e3", 0.1), ("t2", "e6", 0.9), ("t2", "e5", 0.8),
                   ("t2", "e7", 0.1), ("t3", "e9", 0.9), ("t3", "e10", 0.8)],
        "softmax": [("t1", "e2", 0.9), ("t1", "e1", 0.8), ("t1", "e3", 0.1), ("t2", "e5", 0.9), ("t2", "e6", 0.8),
                    ("t2", "e7", 0.1), ("t3", "e9", 0.9), ("t3", "e10", 0.8)]}


def write_run(path: Path, rows):
    df = pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
    contracts.write(contracts.ranked(df), path, "run")


def make_data(root: Path) -> Path:
    data = root / "data" / "msmarco"
    docs = sorted({d for _, d, _ in DEV} | {d for r in DL19.values() for _, d, _ in r})
    contracts.write(pd.DataFrame({"doc_id": docs, "text": [f"passage {d} | text" for d in docs]}),
                    data / "corpus.parquet", "corpus")
    for split, qs in (("dev", ["q1", "q2", "q3"]), ("dl19", ["t1", "t2", "t3"])):
        contracts.write(pd.DataFrame({"query_id": qs, "text": [f"query {q}" for q in qs]}),
                        data / f"queries-{split}.parquet", "queries")
    contracts.write(pd.DataFrame({"query_id": ["q1", "q2", "q3"], "doc_id": ["d1", "d5", "d9"], "relevance": [1] * 3}),
                    data / "qrels-dev.parquet", "qrels")
    contracts.write(pd.DataFrame(DL19_QRELS, columns=["query_id", "doc_id", "relevance"]),
                    data / "qrels-dl19.parquet", "qrels")
    return data


def make_run(root: Path, name: str, seed: int, *, dev_mrr: float, train_mrr: float, scale: float = 1.0,
             shift: float = 0.0, dl19: str = "margin", flip=None) -> dict:
    """A run directory with every contract file; dev scores = scale * CA's + shift (``flip``
    overrides one pair's score)."""
    d = root / "results" / "runs" / name / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps({
        "dev": {"mode": "rerank", "mrr@10": dev_mrr, "ndcg@10": dev_mrr + 0.05, "queries": 3},
        "dl19": {"mode": "rerank", "mrr@10": 0.75, "ndcg@10": 0.6, "queries": 3}}))
    (d / "train.json").write_text(json.dumps({"steps": 20, "best_step": 20, "train_mrr@10": train_mrr,
                                              "valid_mrr@10": dev_mrr}))
    dev = [(q, doc, scale * s + shift) for q, doc, s in DEV]
    if flip:
        dev = [(q, doc, flip[1] if (q, doc) == flip[0] else s) for q, doc, s in dev]
    write_run(d / "dev.run.parquet", dev)
    write_run(d / "dl19.run.parquet", DL19[dl19])
    pd.DataFrame({"step": [0, 10, 20], "loss": [1.0, 0.5, 0.4], "train_mrr@10": [0.1, 0.5, train_mrr],
                  "valid_mrr@10": [0.1, 0.3, dev_mrr], "valid_ndcg@10": [0.1, 0.3, dev_mrr]}
                 ).to_parquet(d / "curve.parquet")
    lab = [1 if doc in ("d1", "d5", "d9") else 0 for _, doc, _ in dev]
    pd.DataFrame({"query_id": [q for q, _, _ in dev], "doc_id": [x for _, x, _ in dev], "label": lab,
                  "score": [s for _, _, s in dev]}).to_parquet(d / "train-scores.parquet")
    snaps = [pd.DataFrame({"stage": st, "step": step, "query_id": [q for q, _, _ in dev],
                           "doc_id": [x for _, x, _ in dev], "label": lab, "score": [s * f for _, _, s in dev]})
             for st, step, f in (("final", 20, 1.0), ("init", 0, 0.0), ("step10", 10, 0.5))]
    pd.concat(snaps).to_parquet(d / "snapshots.parquet")
    return {"dir": str(d), "seed": seed}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    data = make_data(root)
    runs = {
        "ca": [make_run(root, "ca-bert-6-128/one_hot", s, dev_mrr=m, train_mrr=t)
               for s, m, t in ((0, 0.3, 0.6), (1, 0.5, 0.8))],
        "de": [make_run(root, "de-bert-6-128/one_hot", 0, dev_mrr=0.2, train_mrr=0.7, scale=10, shift=700,
                        flip=(("q3", "d11"), 760.0))],
        "dist": [make_run(root, "de-bert-6-128/m3se", 0, dev_mrr=0.25, train_mrr=0.5, scale=2, dl19="softmax")],
        "ca768": [make_run(root, "ca-bert-6-768/one_hot", 0, dev_mrr=0.4, train_mrr=0.9)],
        "de768": [make_run(root, "de-bert-6-768/one_hot", 0, dev_mrr=0.35, train_mrr=0.85)],
    }
    return root, data, runs


def layout(tree, name, kind, cells, params=None, compare=False, evaluations=("dev",)):
    root, data, _ = tree
    return {"name": name, "kind": kind, "title": f"{name} (test)", "dataset": "msmarco", "data_dir": str(data),
            "compare_to_paper": compare, "evaluations": list(evaluations), "cells": cells, "params": params or {}}


def cells(tree, row, key, **extra):
    return [{**c, "row": row, **extra} for c in tree[2][key]]


def outputs(tmp_path, name, table=True):
    if table:
        return {"csv": str(tmp_path / f"{name}.csv"), "md": str(tmp_path / f"{name}.md")}
    return {k: str(tmp_path / f"{name}.{k}") for k in ("png", "pdf", "csv")}


def test_metrics_table_mean_std_and_paper(tree, tmp_path):
    lay = layout(tree, "table4", "metrics", cells(tree, "Cross-attention one-hot", "ca") + cells(tree, "KL", "dist"),
                 compare=True)
    out = outputs(tmp_path, "t4")
    render(lay, **out)
    df = pd.read_csv(out["csv"]).set_index(["row", "column"])
    ca = df.loc[("Cross-attention one-hot", "dev mrr@10")]
    # sample std (ddof 1) of 0.3 and 0.5, by hand: sqrt(((0.3 - 0.4)^2 + (0.5 - 0.4)^2) / 1)
    assert (ca["mean"], ca["std"], ca["seeds"]) == (pytest.approx(0.4), pytest.approx(0.02 ** 0.5, abs=1e-4), 2)
    assert (ca["paper"], ca["diff"]) == (pytest.approx(0.370), pytest.approx(0.030))
    assert df.loc[("KL", "dev ndcg@10"), "diff"] == pytest.approx(0.30 - 0.321)
    md = Path(out["md"]).read_text()
    assert "| Model / supervision / loss | dev MRR@10 | dev nDCG@10 |" in md      # preset row header
    assert "| Cross-attention one-hot | 0.400 ± 0.141 (0.370, +0.030) | 0.450 ± 0.141 (0.430, +0.020) |" in md
    with pytest.raises(InputError, match="row 'Softmax CE' has no value in the paper"):
        render(layout(tree, "table4", "metrics", cells(tree, "Softmax CE", "dist"), compare=True), **out)


def test_train_column_and_table2(tree, tmp_path):
    lay = layout(tree, "table2", "table2", cells(tree, "bert-6-128", "ca", arch="ca") +
                 cells(tree, "bert-6-128", "de", arch="de") + cells(tree, "bert-6-768", "ca768", arch="ca") +
                 cells(tree, "bert-6-768", "de768", arch="de"), compare=True)
    out = outputs(tmp_path, "t2")
    df = render(lay, **out).set_index(["row", "column"])
    assert df.loc[("bert-6-128", "CA train mrr@10"), "mean"] == pytest.approx(0.7)
    assert df.loc[("bert-6-128", "DE dev mrr@10"), "paper"] == pytest.approx(0.249)
    assert df.loc[("bert-6-768", "DE train mrr@10"), "diff"] == pytest.approx(0.85 - 0.518)
    assert Path(out["md"]).read_text().splitlines()[2] == (
        "| Model | CA train MRR@10 | DE train MRR@10 | CA dev MRR@10 | DE dev MRR@10 |")


def test_preset_fills_params_and_the_kind_is_the_layouts(tree, tmp_path):
    lay = layout(tree, "table9", "metrics", cells(tree, "Baseline DE", "ca"), compare=True,
                 evaluations=["dev", "dl19"])
    out = outputs(tmp_path, "t9")
    df = render(lay, **out).set_index("column")
    assert df.index.tolist() == ["train mrr@10", "dev mrr@10"]        # preset columns, not the evaluations
    assert df.loc["train mrr@10", "paper"] == pytest.approx(0.619)
    assert "| Strategy | train MRR@10 | dev MRR@10 |" in Path(out["md"]).read_text()
    # config.yaml requires `kind` (the schema), so the presets give none.
    del lay["kind"]
    with pytest.raises(InputError, match=r"missing key\(s\) \['kind'\]"):
        render(lay, **out)


def test_discrepancy_table(tree, tmp_path):
    lay = layout(tree, "table3", "discrepancy", cells(tree, "CA", "ca", arch="ca") + cells(tree, "DE", "de", arch="de"),
                 {"top": 3})
    out = outputs(tmp_path, "t3")
    df = render(lay, **out)
    # DE = 10 * CA + 700 except (q3, d11), which CA scores lowest (0) and DE highest (760).
    top = df.iloc[0]
    assert (top["query_id"], top["doc_id"], top["label"]) == ("q3", "d11", 0)
    assert (top["CA score"], top["DE score"]) == (0.0, 760.0)
    assert top["query"] == "query q3" and top["passage"] == "passage d11 | text"
    assert len(df) == 3
    assert "| 1 | query q3 | passage d11 \\| text | 0 | 0.000 | 760.000 |" in Path(out["md"]).read_text()


def test_disagreement_tables(tree, tmp_path):
    both = cells(tree, "Margin MSE", "de") + cells(tree, "Softmax CE", "dist")
    # Per-query MRR@10 at grade >= 2: margin t1 1, t2 1/2, t3 1/2; softmax t1 1/2 (e2 is grade 1), t2 1, t3 1/2.
    out10, out11 = outputs(tmp_path, "t10"), outputs(tmp_path, "t11")
    t10 = render(layout(tree, "table10", "disagreement", both, {"better": "Margin MSE"}, compare=True,
                        evaluations=["dl19"]), **out10)
    assert set(t10["query_id"]) == {"t1"} and t10["rank"].tolist() == [1, 2, 3]
    assert t10["Margin MSE doc_id"].tolist() == ["e1", "e2", "e3"]
    assert t10["Softmax CE doc_id"].tolist() == ["e2", "e1", "e3"]
    assert t10["Softmax CE grade"].tolist()[:2] == [1, 3] and pd.isna(t10["Softmax CE grade"].iloc[2])
    assert t10[["Margin MSE mrr@10", "Softmax CE mrr@10"]].iloc[0].tolist() == [1.0, 0.5]
    md = Path(out10["md"]).read_text()
    assert "agree: 1 (paper: 10), Margin MSE better: 1 (paper: 6), Softmax CE better: 1 (paper: 4)" in md
    assert "**[3] passage e1 \\| text**" in md and "| [1] passage e2 \\| text |" in md
    t11 = render(layout(tree, "table11", "disagreement", both, {"better": "Softmax CE", "max_queries": 1},
                        evaluations=["dl19"]), **out11)
    assert set(t11["query_id"]) == {"t2"} and t11["Softmax CE doc_id"].iloc[0] == "e5"


def test_embedding_size_and_learning_curve(tree, tmp_path):
    cs = [c for row, small, large in (("CA", "ca", "ca768"), ("DE", "de", "de768"))
          for c in cells(tree, row, small, encoder="bert-6-128", hidden=128)
          + cells(tree, row, large, encoder="bert-6-768", hidden=768)]
    out = outputs(tmp_path, "f1", table=False)
    agg = render(layout(tree, "figure1", "embedding_size", cs, compare=True), **out).set_index(["row", "hidden", "set"])
    assert agg.loc[("CA", 128, "train"), "mean"] == pytest.approx(0.7)
    assert agg.loc[("CA", 128, "train"), "std"] == pytest.approx(0.02 ** 0.5)   # 0.6, 0.8: ddof 1
    assert agg.loc[("DE", 768, "dev"), "paper"] == pytest.approx(0.310)
    check_figure(out)
    out = outputs(tmp_path, "f4", table=False)
    agg = render(layout(tree, "figure4", "learning_curve", cells(tree, "CA", "ca") + cells(tree, "DIST", "dist")),
                 **out).set_index(["row", "set", "step"])
    assert agg.loc[("CA", "train", 20), "mean"] == pytest.approx(0.7)
    assert agg.loc[("DIST", "validation", 10), "mean"] == pytest.approx(0.3)
    check_figure(out)


def test_score_distributions_and_margins(tree, tmp_path):
    cs = cells(tree, "CA", "ca") + cells(tree, "DE", "de") + cells(tree, "DIST", "dist")
    out = outputs(tmp_path, "f2", table=False)
    stats = render(layout(tree, "figure2", "score_distributions", cs, {"density": ["CA", "DE"],
                                                                       "margins": ["CA", "DIST"]}), **out)
    s = stats.set_index(["panel", "row", "class"])
    # CA (seed 0): mean score 22/12; positives 5, 4, 2 -> centred mean 11/3 - 22/12.
    assert s.loc[("scores", "CA", "positive"), "mean"] == pytest.approx(11 / 3 - 22 / 12)
    assert s.loc[("scores", "CA", "negative"), "n"] == 9
    # CA margins, rho = 5: q1 4, 2, 5; q2 2, 4, 3; q3 -1, 2, 1 -> mean 22 / 45; 8 of 9 above zero.
    ca = s.loc[("margins", "CA", "margin")]
    assert (ca["n"], ca["mean"], ca["above_zero"]) == (9, pytest.approx(22 / 45), pytest.approx(8 / 9))
    # DIST = 2 * CA: margins are scale-free.
    assert s.loc[("margins", "DIST", "margin"), "mean"] == pytest.approx(22 / 45)
    check_figure(out)
    out = outputs(tmp_path, "f6", table=False)
    s = render(layout(tree, "figure6", "score_distributions", cs, {"density": ["DE"], "centre": False}),
               **out).set_index(["row", "class"])
    assert s.loc[("DE", "positive"), "min"] == pytest.approx(720.0)      # 10 * 2 + 700
    out = outputs(tmp_path, "f5", table=False)
    s = render(layout(tree, "figure5", "score_distributions", cs, {"source": "train", "density": ["CA"]}),
               **out).set_index(["row", "class"])
    assert s.loc[("CA", "positive"), "n"] == 3
    check_figure(out)


def test_snapshots(tree, tmp_path):
    cs = cells(tree, "CA", "ca") + cells(tree, "DE", "de")
    out = outputs(tmp_path, "f7", table=False)
    s = render(layout(tree, "figure7", "snapshots", cs), **out)
    assert list(dict.fromkeys(s["stage"])) == ["init", "step10", "final"]
    x = s.set_index(["stage", "row", "class"])
    assert x.loc[("init", "CA", "positive"), "std"] == 0.0                       # all scores 0 at init
    assert x.loc[("step10", "CA", "positive"), "mean"] == pytest.approx(0.5 * (11 / 3 - 22 / 12))
    assert x.loc[("final", "DE", "negative"), "step"] == 20
    check_figure(out)


def check_figure(out):
    png, pdf = Path(out["png"]).read_bytes(), Path(out["pdf"]).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000


def test_cli_is_deterministic_and_errors_clearly(tree, tmp_path):
    cs = cells(tree, "CA", "ca") + cells(tree, "DE", "de")
    lay = json.dumps(layout(tree, "figure2", "score_distributions", cs, {"margins": ["CA", "DE"]}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    files = []
    for i in range(2):
        png, pdf = tmp_path / f"a{i}.png", tmp_path / f"a{i}.pdf"
        subprocess.run([sys.executable, "-m", "dualrank.cli", "render", "--layout", lay, "--png", str(png),
                        "--pdf", str(pdf)], check=True, env=env)
        files.append((png.read_bytes(), pdf.read_bytes()))
    assert files[0] == files[1]
    bad = json.dumps(layout(tree, "figure9", "histogram", cs))
    r = subprocess.run([sys.executable, "-m", "dualrank.cli", "render", "--layout", bad, "--png", "x.png",
                        "--pdf", "x.pdf"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "unknown kind 'histogram'" in r.stderr
    r = subprocess.run([sys.executable, "-m", "dualrank.cli.render", "--layout", "{", "--png", "x.png",
                        "--pdf", "x.pdf"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "--layout: not JSON" in r.stderr


# -- Legibility: every figure at the size written, checked on the drawn text's boxes -------------

def boxes_overlap(texts, renderer):
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


def legibility_problems(fig):
    """Overlapping tick labels on any axis; a legend drawn over any axes' plotting area."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    problems = [f"{ax.get_title() or ax.get_xlabel()}: {name} tick labels overlap"
                for ax in fig.axes for name, axis in (("x", ax.xaxis), ("y", ax.yaxis))
                if boxes_overlap(axis.get_ticklabels(), r)]
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    problems += [f"legend over {ax.get_xlabel()!r}" for leg in legends for ax in fig.axes
                 if leg.get_window_extent(r).overlaps(ax.get_window_extent(r))]
    return problems


@pytest.fixture()
def drawn(monkeypatch):
    """Every figure the renderers close, kept to be inspected (after savefig drew it)."""
    import matplotlib.pyplot as plt

    figs, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    yield figs
    for f in figs:
        close(f)


@pytest.mark.parametrize("name, kind, rows, params", [
    ("figure1", "embedding_size", (("CA", "ca"), ("DE", "de")), {}),
    ("figure4", "learning_curve", (("CA", "ca"), ("DIST", "dist")), {}),
    ("figure2", "score_distributions", (("CA", "ca"), ("DE", "de"), ("DIST", "dist")),
     {"density": ["CA", "DE"], "margins": ["CA", "DE", "DIST"]}),
    ("figure7", "snapshots", (("CA", "ca"), ("DE", "de"), ("DIST", "dist")), {})])
def test_figures_are_legible_and_say_what_produced_them(tree, tmp_path, drawn, name, kind, rows, params):
    cs = [c for row, key in rows for c in cells(tree, row, key, encoder="bert-6-128", hidden=128)]
    lay = {**layout(tree, name, kind, cs, params),
           "provenance": {"preset": "demo", "seeds": [0, 1], "encoders": {"bert-6-128": {"layers": 2, "hidden": 16}}}}
    render(lay, **outputs(tmp_path, name, table=False))
    (fig,) = drawn
    assert legibility_problems(fig) == []
    footer = fig._supxlabel.get_text().replace("\n", " ")
    assert "Preset: demo" in footer and "bert-6-128 = 2-layer × 16-wide" in footer and "Rendered at commit: " in footer
    if kind == "learning_curve":
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert "validation" in labels and "dev" not in labels


def test_crowded_ticks_are_thinned_until_none_overlap():
    """Figure 7's first row on the demo: centred scores within ±0.006 on 3.6-inch panels wrote
    "-0.0050-0.0025" as one run of text. fit_ticks must leave no overlapping label."""
    import numpy as np

    from dualrank.report.figures import fit_ticks, plt

    fig, axes = plt.subplots(1, 3, figsize=(11.8, 2.8), layout="constrained")
    for ax in axes:
        ax.stairs(np.ones(40), np.linspace(-0.00557, 0.00583, 41))
        ax.set_yticks(np.arange(0, 1.05, 0.05))              # 21 labels on a 2.8-inch axis: crowded too
    assert legibility_problems(fig), "the test's figure should start crowded"
    fit_ticks(fig)
    assert legibility_problems(fig) == []
    plt.close(fig)
