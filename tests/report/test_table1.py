"""Table 1 from a hand-made results tree: mean and std over seeds, the paper's values beside
ours, N/A for a missing evaluation, and `dualrank table1`'s errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dualrank.data.io import InputError
from dualrank.report import table1

ROOT = Path(__file__).resolve().parents[2]
M3SE = {"name": "M3SE", "arch": "de", "encoder": "bert-6-768", "loss": "m3se"}


def metrics(path: Path, **evaluations):
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.json").write_text(json.dumps(
        {ev: {"mode": "rerank", "mrr@10": m, "ndcg@10": n, "queries": 3} for ev, (m, n) in evaluations.items()}))


@pytest.fixture()
def layout(tmp_path):
    runs = tmp_path / "results" / "runs"
    metrics(runs / "msmarco" / "bm25", dev=(0.18, 0.22))
    metrics(runs / "nq" / "bm25", test=(0.5, 0.5))             # no dev: the cell is N/A
    for seed, (m, n) in enumerate(((0.3, 0.4), (0.4, 0.5))):
        metrics(runs / "msmarco" / "de-bert-6-768" / "m3se" / f"seed{seed}", dev=(m, n))
        metrics(runs / "nq" / "de-bert-6-768" / "m3se" / f"seed{seed}", dev=(0.6, 0.7))
    return {"columns": [{"name": "MSMARCO re-rank", "dataset": "msmarco", "evaluation": "dev"},
                        {"name": "NQ re-rank", "dataset": "nq", "evaluation": "dev"}],
            "rows": [{"name": "BM25", "arch": "bm25"}, M3SE], "seeds": [0, 1],
            "results": str(tmp_path / "results"), "compare_to_paper": True}


def test_mean_std_and_the_papers_values(layout, tmp_path):
    csv, md = tmp_path / "t1.csv", tmp_path / "t1.md"
    df = table1.render(layout, csv, md).set_index(["row", "column", "metric"])
    m3se = df.loc[("M3SE", "MSMARCO re-rank", "mrr@10")]
    # the sample std (ddof 1) of 0.3 and 0.4, by hand: sqrt(2 * 0.05^2 / 1)
    assert (m3se["mean"], m3se["std"], m3se["seeds"]) == (pytest.approx(0.35), pytest.approx(0.005 ** 0.5), 2)
    assert (m3se["paper"], m3se["diff"]) == (pytest.approx(0.349), pytest.approx(0.001))
    bm25 = df.loc[("BM25", "NQ re-rank", "ndcg@10")]
    assert np.isnan(bm25["mean"]) and bm25["seeds"] == 0
    assert pd.read_csv(csv).shape == (2 * 2 * 2, 10)
    text = md.read_text().splitlines()
    assert text[0] == "**Table 1**"
    assert text[4:6] == [
        # the paper prints BM25's numbers with † (quoted) and none for NQ ("—")
        "| BM25 | 0.180 (0.194†, -0.014) | 0.220 (0.241†, -0.021) | N/A (—) | N/A (—) |",
        "| M3SE | 0.350 ± 0.071 (0.349, +0.001) | 0.450 ± 0.071 (0.406, +0.044) "
        "| 0.600 ± 0.000 (0.699, -0.099) | 0.700 ± 0.000 (0.625, +0.075) |"]
    assert "† quoted from the corresponding reference" in md.read_text()


def test_placeholders_and_notes_as_the_paper_prints_them(tmp_path):
    """The paper's 0.000⋆ ("see text") is no value: printed with its mark, nothing subtracted;
    ♦ marks only the metric it marks (Margin MSE's DL19 MRR@10); a row's stated size is the one trained."""
    runs = tmp_path / "results" / "runs" / "msmarco"
    for loss in ("mse", "margin_mse"):
        metrics(runs / "de-bert-6-768" / loss / "seed0", **{"dev-retrieval": (0.409, 0.5), "dl19": (0.7, 0.6)})
    metrics(runs / "ca-bert-base" / "one_hot" / "seed0", dl19=(0.8, 0.7))
    lay = {"columns": [{"name": "MSMARCO retrieval", "dataset": "msmarco", "evaluation": "dev-retrieval"},
                       {"name": "TREC DL19 re-rank", "dataset": "msmarco", "evaluation": "dl19"}],
           "rows": [{"name": "Cross-attention BERT (12-layer)", "arch": "ca", "encoder": "bert-base",
                     "loss": "one_hot"},
                    {"name": "MSE", "arch": "de", "encoder": "bert-6-768", "loss": "mse"},
                    {"name": "Margin MSE", "arch": "de", "encoder": "bert-6-768", "loss": "margin_mse"}],
           "seeds": [0], "results": str(tmp_path / "results"), "compare_to_paper": True,
           "provenance": {"encoders": {"bert-base": {"layers": 2, "hidden": 64}}}}
    md = tmp_path / "t1.md"
    df = table1.render(lay, tmp_path / "t1.csv", md).set_index(["row", "column", "metric"])
    assert np.isnan(df.loc[("MSE", "MSMARCO retrieval", "mrr@10"), "diff"])
    lines = md.read_text().splitlines()
    assert lines[4] == "| Cross-attention BERT (2-layer × 64-wide) | N/A (N/A) | N/A (N/A) | 0.800 (0.829, -0.029) " \
                       "| 0.700 (0.749, -0.049) |"
    assert lines[5] == "| MSE | 0.409 (0.000⋆) | 0.500 (0.000⋆) | 0.700 (0.000⋆) | 0.600 (0.000⋆) |"
    assert lines[6] == "| Margin MSE | 0.409 (0.319, +0.090) | 0.500 (0.375, +0.125) | 0.700 (0.867♦, -0.167) " \
                       "| 0.600 (0.718, -0.118) |"
    note = md.read_text()
    assert "⋆ see the paper's text" in note and "♦ see Appendix C.11" in note and "†" not in note


def test_without_the_paper(layout, tmp_path):
    md = tmp_path / "t1.md"
    df = table1.render({**layout, "compare_to_paper": False}, tmp_path / "t1.csv", md)
    assert "paper" not in df.columns
    assert "| M3SE | 0.350 ± 0.071 | 0.450 ± 0.071 | 0.600 ± 0.000 | 0.700 ± 0.000 |" in md.read_text()


def test_missing_run_names_its_row(layout, tmp_path):
    (Path(layout["results"]) / "runs/nq/de-bert-6-768/m3se/seed1/metrics.json").unlink()
    with pytest.raises(InputError, match="missing metrics for Table 1 row 'M3SE'"):
        table1.collect(layout)


def test_command_writes_both_files_and_errors_in_one_line(layout, tmp_path):
    csv, md = tmp_path / "c.csv", tmp_path / "c.md"
    html, about = tmp_path / "c.html", tmp_path / "c.about.txt"
    cmd = [sys.executable, "-m", "dualrank.cli", "table1", "--csv", str(csv), "--md", str(md), "--html", str(html),
           "--about", str(about), "--layout"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(cmd + [json.dumps({**layout, "provenance": {"preset": "demo", "seeds": [0, 1]}})],
                   check=True, env=env, cwd=tmp_path)
    text = md.read_text()
    assert csv.exists() and text.startswith("**Table 1**\n\n| Model | MSMARCO re-rank MRR |")
    # the footer: preset, seeds, std convention, and the commit ("unknown": tmp_path is outside git)
    assert text.rstrip().endswith("*Preset: demo*  \n*Encoders (trained sizes): none*  \n*Seeds: 0, 1*  \n"
                                  "*Spread: mean ± sample std (ddof = 1) over seeds; one seed: no std*  \n"
                                  "*Rendered at commit: unknown*")
    assert about.read_text().splitlines()[1:3] == ["Preset: demo", "Encoders (trained sizes): none"]
    assert "<h2>Table 1</h2>" in html.read_text() and "<td>M3SE</td>" in html.read_text()
    r = subprocess.run(cmd + ["{"], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "--layout: not JSON" in r.stderr and "Traceback" not in r.stderr
