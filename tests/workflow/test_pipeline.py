"""The real Snakemake DAG: lint, the paper grid's dry run, config errors, and the demo chain
end to end on a tiny overlay (then: a changed hyper-parameter reruns only its own jobs)."""

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
# --configfile takes several files (and swallows what follows), so it goes last.
DEMO = ["--configfile", "workflow/presets/demo.yaml", "tests/presets/ci.yaml"]


def snakemake(cwd, *args, check=True):
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def dry_run(cwd, target):
    """Snakemake's dry run of ``target``: (its output, CPU seconds, wall seconds). The test of
    "fast" is on CPU time: on a loaded machine the wall time is several times longer (18 s of
    wall for 3 s of CPU on 2 cores shared by several jobs)."""
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
    out = snakemake(cwd, "-n", target)
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.time() - t0
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out, cpu, wall


def assert_fast(cpu, wall):
    # 10 s of CPU; the wall-time bound only catches a wait (a job probe, a lock), not load.
    assert cpu < 10 and wall < 60, f"dry run took {cpu:.1f} s of CPU, {wall:.1f} s of wall time"


def job_counts(output: str) -> dict[str, int]:
    stats = output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m[1] != "total"}


@pytest.fixture
def demo_workdir(workdir):
    (workdir / "tests" / "presets").mkdir(parents=True)
    for name in ("ci.yaml", "ci-all.yaml"):
        (workdir / "tests" / "presets" / name).write_text((ROOT / "tests/presets" / name).read_text())
    return workdir


def test_lint_is_clean(workdir):
    out = snakemake(workdir, "--lint", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lints for" not in out.stdout + out.stderr


def test_paper_dag_lists_the_whole_chain_fast(workdir):
    out, cpu, wall = dry_run(workdir, "results/table1.csv")
    counts = job_counts(out.stdout)
    # 7 trained rows x 2 datasets x 3 seeds; DE rows retrieve from MS MARCO by streaming it,
    # with no index (config index.persistent: false).
    assert counts["train"] == 42 and counts["evaluate"] == 42
    assert "index" not in counts
    for rule in ("download", "extract", "prepare_msmarco", "prepare_nq", "teacher_import",
                 "teacher_score", "groups", "groups_triples", "mixed_candidates", "bm25_index", "bm25_run",
                 "evaluate_bm25", "table1"):
        assert counts.get(rule, 0) >= 1, rule
    assert_fast(cpu, wall)


def test_paper_dag_of_every_result(workdir):
    out, cpu, wall = dry_run(workdir, "results/all")
    counts = job_counts(out.stdout)
    # Tables 2-12 and Figures 1-8 add their runs to Table 1's; shared runs are trained once.
    assert counts["table"] == 11 and counts["figure"] == 8 and counts["table1"] == 1
    assert counts["train"] == counts["evaluate"] == 129
    assert "index" not in counts
    assert_fast(cpu, wall)


def test_only_figure4s_runs_score_train_mrr_at_every_evaluation(workdir):
    """A learning curve (Figure 4) needs train MRR@10 at every evaluation; every other run
    scores it once, for its output model (1,000 x 1,000 CA pairs an evaluation at paper scale)."""
    out = snakemake(workdir, "-n", "-p", "--", "results/figure4.png", "results/table2.csv").stdout
    commands = {re.search(r"--curve-out results/runs/(\S+)/curve.parquet", c)[1]: c
                for c in out.split("\n") if "dualrank train " in c}
    # Figure 4: the bert-6-768 CA, DE and M3SE student, seed 0; Table 2: CA and DE at 9 sizes, 3 seeds.
    curve = {"msmarco/ca-bert-6-768/one_hot/seed0", "msmarco/de-bert-6-768/one_hot/seed0",
             "msmarco/de-bert-6-768/m3se/seed0"}
    assert len(commands) == 55 and curve <= set(commands)
    assert all(("--train-mrr-once" in c) == (run not in curve) for run, c in commands.items())


def test_a_persistent_index_is_built_only_for_the_retrieval_runs(workdir):
    (workdir / "keep.yaml").write_text("index: {factory: HNSW32, search: efSearch=256, persistent: true, "
                                       "chunk_size: 65536}\n")
    out = snakemake(workdir, "-n", "--configfile=keep.yaml", "--", "results/all")
    assert job_counts(out.stdout)["index"] == 6 * 3  # only Table 1's DE runs show retrieval


@pytest.mark.parametrize("overlay, message", [
    ("training:\n  lr: fast\n", r"'fast' is not of type 'number'[\s\S]*\['training'\]\['lr'\]"),
    ("training:\n  lrate: 0.1\n", r"'lrate' was unexpected"),
    ("losses:\n  m3se: {loss: m3se, k: 1}\n", r"\['losses'\]\['m3se'\]\['k'\]"),
    ("encoders:\n  bert-base: {init: {layers: 2, hidden: 64, heads: 2, intermediate: 256}}\n",
     r"encoders\.bert-base: give exactly one of hf_id, path, init"),
    ("experiments:\n  table4: {methods: {CA one-hot: {arch: ca, loss: one_hott}}}\n",
     r"experiments\.table4: unknown loss variant 'one_hott'"),
    ("index: {factory: HNSW32, persistent: false, chunk_size: 1024}\n",
     r"config key index\.factory: 'HNSW32' needs index\.persistent: true"),
    ("losses:\n  one_hot_k2_mlm: {training: {mlm_wieght: 0.1}}\n",
     r"'mlm_wieght' was unexpected[\s\S]*\['losses'\]\['one_hot_k2_mlm'\]\['training'\]"),
])
def test_bad_config_value_names_the_key(workdir, overlay, message):
    (workdir / "bad.yaml").write_text(overlay)
    out = snakemake(workdir, "-n", "--configfile=bad.yaml", check=False)
    assert out.returncode != 0
    assert re.search(message, out.stdout + out.stderr), out.stdout + out.stderr
    assert not (workdir / "results").exists() and not (workdir / "data").exists()


@pytest.mark.slow
@pytest.mark.timeout(2700)  # 10 minutes on 2 idle CPU cores, 27 beside other jobs
def test_demo_table1_end_to_end_then_only_the_changed_loss_reruns(demo_workdir):
    w = demo_workdir
    snakemake(w, "--cores", "2", "results/table1.csv", *DEMO)
    table = pd.read_csv(w / "results/table1.csv")
    rows = ["BM25", "Cross-attention BERT (12-layer)", "Dual-encoder BERT (6-layer)", "MSE",
            "Margin MSE", "RankDistil-B", "M3SE", "Softmax CE"]
    assert list(dict.fromkeys(table["row"])) == rows
    ca_retrieval = (table["row"] == rows[1]) & (table["column"] == "MSMARCO retrieval")
    assert table.loc[ca_retrieval, "mean"].isna().all()  # N/A, as in the paper
    rest = table[~ca_retrieval]
    assert rest["mean"].between(0, 1).all()
    assert (rest.loc[rest["row"] != "BM25", "seeds"] == 2).all()
    md = (w / "results/table1.md").read_text()
    assert md.startswith("**Table 1**\n\n| Model | MSMARCO re-rank MRR") and "N/A" in md
    # the trained sizes, not the paper's (the CI overlay's bert-base is 1 layer, 32 wide), and the footer
    assert "| Cross-attention BERT (1-layer × 32-wide) |" in md and "*Preset: demo + ci (config.yaml + " in md
    assert "<h2>Table 1</h2>" in (w / "results/table1.html").read_text()
    # Every rule logged to logs/.
    assert any((w / "logs/train").rglob("*.log")) and any((w / "logs/bm25_index").rglob("*.log"))
    # The metrics agree with an independent evaluation of the written run.
    m = json.loads((w / "results/runs/msmarco/de-bert-6-768/m3se/seed0/metrics.json").read_text())
    cli = subprocess.run(
        [sys.executable, "-m", "dualrank.cli", "metrics", "--run",
         "results/runs/msmarco/de-bert-6-768/m3se/seed0/dl19.run.parquet",
         "--qrels", "data/msmarco/qrels-dl19.parquet", "--rel-level", "2"],
        cwd=w, capture_output=True, text=True, check=True)
    assert json.loads(cli.stdout)["ndcg@10"] == pytest.approx(m["dl19"]["ndcg@10"])

    # Editing one loss's hyper-parameter reruns that loss's runs and the table, nothing upstream.
    (w / "change.yaml").write_text("losses:\n  softmax_ce: {temperature: 2.0}\n")
    out = snakemake(w, "-n", "results/table1.csv", *DEMO, "change.yaml")
    counts = job_counts(out.stdout)
    # (and the changed runs' per-query scores, which Table 1's paired tests read)
    assert counts == {"train": 4, "evaluate": 4, "per_query": 4, "table1": 1}, counts
    jobs = re.findall(r"wildcards: (.*)", out.stdout)
    assert all("loss=softmax_ce" in j for j in jobs), jobs

    # How often a job checkpoints and over how many processes it trains rerun no job that computes:
    # only the table re-renders, since its footer names the config files merged (one more here).
    (w / "execution.yaml").write_text("training: {checkpoint_every: 5, processes: 2}\n")
    out = snakemake(w, "-n", "results/table1.csv", *DEMO, "execution.yaml")
    assert job_counts(out.stdout) == {"table1": 1}, out.stdout

    # Then every other table and figure, reusing Table 1's runs, and the HTML report.
    before = {p: p.stat().st_mtime for p in (w / "results/runs").rglob("train.json")}
    snakemake(w, "--cores", "2", "results/all", *DEMO, "tests/presets/ci-all.yaml")
    assert all(p.stat().st_mtime == t for p, t in before.items()), "a Table 1 run was retrained"
    listed = (w / "results/all").read_text().split()
    assert len(listed) == 2 * (1 + 11 + 8) + 5  # and the claims: claims.{csv,md}, claims-summary.csv,
    # paper-vs-measured.{csv,md}
    claims = pd.read_csv(w / "results/claims.csv")
    assert len(claims) == 32 and claims["verdict"].isin(["held", "not held", "not significant", "not run"]).all()
    assert "p_holm" in pd.read_csv(w / "results/table1.csv").columns
    for i in range(2, 13):
        md = (w / f"results/table{i}.md").read_text()
        if i in (10, 11):
            # The queries where two runs disagree: possibly none on this tiny overlay, but the
            # agree/disagree counts are always there.
            assert re.search(r"agree: \d+", md), f"table{i}.md"
            continue
        assert len(pd.read_csv(w / f"results/table{i}.csv")) > 0, f"table{i}"
        assert md.count("|") > 4, f"table{i}.md"
    for i in (2, 4, 5, 6, 7, 8, 9, 12):
        t = pd.read_csv(w / f"results/table{i}.csv")
        values = t.select_dtypes("number").drop(columns=["seeds", "n"], errors="ignore")
        assert values.notna().any().any(), f"table{i} holds no number"
    for i in range(1, 9):
        png = (w / f"results/figure{i}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, f"figure{i}"
        assert (w / f"results/figure{i}.pdf").read_bytes()[:5] == b"%PDF-"
    snakemake(w, "--report", "results/report.html", "results/all", *DEMO, "tests/presets/ci-all.yaml")
    html = (w / "results/report.html").read_text(errors="replace")
    assert "figure7.png" in html and "table12.csv" in html and "table12.html" in html
    assert "The paper's claims, measured" in html and "T1-gap" in html  # the first page's table
    assert "Appendix C.2: learning curves of CA" in html  # Figure 4's own caption


def test_pretrained_encoders_are_pretrained_once_per_dataset_before_their_runs(workdir):
    """The demo-findings overlay pre-trains Table 1's two encoders (dualrank pretrain) once per
    dataset; every run of them starts from that backbone; the demo preset alone pre-trains none."""
    overlay = ["--configfile", "workflow/presets/demo.yaml", "workflow/presets/demo-findings.yaml"]
    out = snakemake(workdir, "-n", "-p", *overlay, "--", "results/table1.csv").stdout
    counts = job_counts(out)
    assert counts["pretrain"] == 4  # {bert-base, bert-6-768} x {msmarco, nq}
    trains = [c for c in out.split("\n") if "dualrank train " in c]
    assert trains
    for c in trains:
        run = re.search(r"--curve-out results/runs/(\w+)/\w+-([\w-]+)/", c)
        assert f"--pretrained data/{run[1]}/pretrained/{run[2]} " in c, c
    assert "pretrain" not in job_counts(snakemake(workdir, "-n", *DEMO[:2], "--", "results/table1.csv").stdout)
