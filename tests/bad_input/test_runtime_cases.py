"""Bad input and faults at run time, as a user meets them: malformed files for every reader,
misused command lines, unwritable outputs, a checksum that does not match (issue 14).

Each case runs the real command line (``dualrank ...``, ``python -m dualrank.cli.train``) in a
subprocess and asserts: the exit status (non-zero, or the documented outcome), a message naming
the file and line (or the flag), no Python traceback, nothing written at the output path (an
earlier output there is left as it was) and no temporary file left beside it. The commands run
four at a time, once for the module (each case's test then checks its own result): most of a
case's time is importing pandas and pyarrow.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from dualrank.data import contracts

ROOT = Path(__file__).resolve().parents[2]
EARLIER = b"an earlier output, which a failed run must leave as it was\n"


@dataclass
class Case:
    """``argv`` after ``dualrank`` (``{d}``: the case's directory; a first word ``-m`` runs
    ``python -m``), the files to create there first, the expected exit status and message parts."""

    argv: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    status: int = 2
    says: tuple[str, ...] = ()
    output: str | None = None       # must not exist afterwards (or hold EARLIER, with earlier=True)
    earlier: bool = True            # an earlier output sits at ``output`` before the run
    kept: tuple[str, ...] = ()      # files given in ``files`` that must be unchanged afterwards
    repeat: bool = False            # run twice (a retry): the second run must say the same
    interrupt_at: str | None = None  # send SIGINT once stderr shows this


def gz(text: str) -> bytes:
    return gzip.compress(text.encode())


def parquet(kind: str, rows: dict) -> bytes:
    """A contract table's bytes (written once, when the cases are set up)."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(contracts.to_table(pd.DataFrame(rows), kind), buf)
    return buf.getvalue()


QRELS = "1 0 d1 1\n2 0 d2 1\n"
SPEC = {"arch": "de", "encoder": {"init": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}},
        "loss": {"name": "softmax_ce"}, "k": 4, "seed": 3,
        "training": {"lr": 1e-3, "weight_decay": 0.01, "batch_size": 8, "max_steps": 2, "warmup_steps": 1,
                     "query_length": 12, "passage_length": 48, "dropout": 0.1, "output_layer_norm": True,
                     "eval_every": 1, "patience": 100}}
T1 = "8.5\t1.25\tq1\td1\td2\n"


def convert(kind: str, text: str | bytes, name: str, *says: str) -> Case:
    return Case(["convert", kind, f"{{d}}/{name}", "{d}/out.parquet"], {name: text}, says=(f"{name}", *says),
                output="out.parquet")


def teacher(text: str, *says: str) -> Case:
    return Case(["teacher-import", "--scores", "{d}/t1.tsv", "--out", "{d}/pairs.parquet", "--corpus",
                 "{d}/corpus.parquet", "--queries", "{d}/queries.parquet"],
                {"t1.tsv": text, "corpus.parquet": parquet("corpus", {"doc_id": ["d1", "d2"], "text": ["a", "b"]}),
                 "queries.parquet": parquet("queries", {"query_id": ["q1", "q2"], "text": ["a", "b"]})},
                says=("t1.tsv", *says), output="pairs.parquet")


def metrics(run: str | bytes, *says: str, qrels: str = QRELS, status: int = 2, extra: tuple = ()) -> Case:
    run_name = "run.parquet" if isinstance(run, bytes) else "run.tsv"
    return Case(["metrics", "--run", f"{{d}}/{run_name}", "--qrels", "{d}/qrels.txt", "--per-query",
                 "{d}/per-query.tsv", *extra], {run_name: run, "qrels.txt": qrels}, status=status, says=says,
                output="per-query.tsv")


def train(*extra: str, says: tuple[str, ...], files: dict | None = None, kept: tuple[str, ...] = ()) -> Case:
    job = {"groups": "g.parquet", "corpus": "c.parquet", "queries": "q.parquet", "valid-candidates": "v.parquet",
           "valid-queries": "vq.parquet", "valid-qrels": "vr.parquet", "checkpoint-dir": "ckpt",
           "model-out": "model", "curve-out": "curve.parquet", "summary-out": "train.json"}
    flags = dict(job, **dict(zip(extra[::2], extra[1::2])))
    argv = ["-m", "dualrank.cli.train", "--spec", flags.pop("spec", json.dumps(SPEC))]
    return Case(argv + [x for k, v in flags.items() for x in (f"--{k}", f"{{d}}/{v}")], files or {},
                says=says, output="model", earlier=False, kept=kept)


def prepare(**changed: str | bytes) -> tuple[list[str], dict]:
    """``dualrank prepare msmarco`` on small, valid upstream files, with ``changed`` ones."""
    files = {"collection": "d1\tpassage one\nd2\tpassage two\n", "queries_train": "7\ttrain query\n",
             "queries_dev": "1\tdev query\n", "qrels_dev": "1\t0\td1\t1\n", "top1000_dev": "1\td1\tq\tp\n",
             "queries_dl19": "9\tdl query\n", "qrels_dl19": "9 0 d2 2\n", "top1000_dl19": "9\td2\tq\tp\n",
             "queries_dev_all": "1\tdev query\n2\tother\n", "qrels_dev_all": "1\t0\td1\t1\n2\t0\td2\t1\n",
             "qrels_train": "7\t0\td1\t1\n"}
    names = {k: f"{k}.tsv" for k in files}
    for k, v in changed.items():
        names[k] = f"{k}.tsv.gz" if isinstance(v, bytes) else f"{k}.tsv"
        files[k] = v
    argv = ["prepare", "msmarco", "--valid-queries", "1", "--valid-seed", "0", "--out-dir", "{d}/data"]
    argv += [x for k in files for x in (f"--{k.replace('_', '-')}", f"{{d}}/{names[k]}")]
    return argv, {names[k]: v for k, v in files.items()}


def _prepare_case(says: tuple[str, ...], output: str, **changed) -> Case:
    """The table being written when the bad file is met is not written (each table is atomic)."""
    argv, files = prepare(**changed)
    return Case(argv, files, says=says, output=f"data/{output}", earlier=False)


CASES: dict[str, Case] = {
    # -- readers, through `dualrank convert` ------------------------------------------------------
    "collection: a line without its tab": convert("collection", "d1\tone\nd2 two\n", "c.tsv",
                                                  "c.tsv:2: expected 2 tab-separated fields"),
    "collection: duplicate doc id": convert("collection", "d1\tone\nd2\ttwo\nd1\tagain\n", "c.tsv",
                                            "c.tsv:3: duplicate doc_id 'd1'"),
    "collection: empty file": convert("collection", "", "c.tsv", "c.tsv: no rows (an empty file)"),
    "collection: truncated .gz": convert("collection", gz("d1\tone\nd2\ttwo\n" * 50)[:-12], "c.tsv.gz",
                                         "c.tsv.gz: truncated gzip file"),
    "collection: .gz that is not gzip": convert("collection", b"d1\tone\n", "c.tsv.gz",
                                                "c.tsv.gz: not a valid gzip file"),
    "collection: invalid UTF-8": convert("collection", b"d1\tone\nd2\tt\xffwo\n", "c.tsv",
                                         "c.tsv:2: invalid UTF-8"),
    "queries: empty text": convert("queries", "1\tfirst\n2\t \n", "q.tsv", "q.tsv:2: empty text for query_id '2'"),
    "queries: duplicate id": convert("queries", "1\tfirst\n1\tagain\n", "q.tsv", "q.tsv:2: duplicate query_id '1'"),
    "qrels: non-numeric grade": convert("qrels", "1 0 d1 1\n2 0 d2 high\n", "r.txt", "r.txt:2:", "high"),
    "qrels: three columns": convert("qrels", "1 0 d1\n", "r.txt", "r.txt:1:"),
    "run: non-numeric score": convert("run", "1 Q0 d1 1 2.5 bm25\n1 Q0 d2 2 x bm25\n", "run.txt",
                                      "run.txt:2:", "'x'"),
    "run: duplicate (query, doc)": convert("run", "1 Q0 d1 1 2.5 bm25\n1 Q0 d1 2 1.5 bm25\n", "run.txt",
                                           "run.txt:2: duplicate"),
    # -- teacher scores (MS MARCO's T1 triples) ---------------------------------------------------
    "teacher: inf score": teacher(T1 + "2.0\tinf\tq2\td2\td1\n", "t1.tsv:2: neg_score 'inf' is not finite"),
    "teacher: nan score": teacher("nan\t1.0\tq1\td1\td2\n", "t1.tsv:1: pos_score 'nan' is not finite"),
    "teacher: non-numeric score": teacher(T1 + "high\t1.0\tq1\td1\td2\n", "t1.tsv:2: pos_score 'high' is not a "),
    "teacher: four fields": teacher(T1 + "1.0\t0.5\tq1\td1\n", "t1.tsv:2: expected 5"),
    "teacher: passage id not in the corpus": teacher(T1 + "1.0\t0.5\tq2\td2\td9\n",
                                                     "t1.tsv:2: neg_pid 'd9' is not in", "corpus.parquet"),
    "teacher: query id not in the queries": teacher("1.0\t0.5\tq7\td1\td2\n", "t1.tsv:1: query_id 'q7' is not in"),
    "teacher: empty file": teacher("", "t1.tsv: no teacher scores"),
    "teacher: blank line": teacher(T1 + "\n" + T1, "t1.tsv:2: empty line"),
    # -- evaluation: silent wrong answers ---------------------------------------------------------
    "metrics: empty run": metrics(parquet("run", {"query_id": [], "doc_id": [], "score": [], "rank": []}),
                                  "run.parquet: an empty run (0 rows)", "2 judged queries"),
    "metrics: no judged query (wrong qrels)": metrics("5 Q0 d1 1 2.0 x\n6 Q0 d2 1 1.0 x\n",
                                                      "run.tsv: none of its 2 queries is judged in", "qrels.txt"),
    "metrics: partial overlap warns with counts": Case(
        ["metrics", "--run", "{d}/run.tsv", "--qrels", "{d}/qrels.txt"],
        {"run.tsv": "1 Q0 d1 1 2.0 x\n5 Q0 d2 1 1.0 x\n", "qrels.txt": QRELS}, status=0,
        says=("1 of the 2 judged queries of", "have no results and score 0", '"mrr@10": 0.5')),
    "metrics: --per-query under a file": metrics("1 Q0 d1 1 2.0 x\n", "{d}/run.tsv/per-query.tsv",
                                                 "cannot write this output", extra=("--per-query",
                                                                                    "{d}/run.tsv/per-query.tsv")),
    "metrics: --per-query is a directory": Case(
        ["metrics", "--run", "{d}/run.tsv", "--qrels", "{d}/qrels.txt", "--per-query", "{d}"],
        {"run.tsv": "1 Q0 d1 1 2.0 x\n", "qrels.txt": QRELS}, says=("is a directory",)),
    "metrics: missing --qrels": Case(["metrics", "--run", "{d}/run.tsv"], {"run.tsv": "1 Q0 d1 1 2.0 x\n"},
                                     says=("the following arguments are required: --qrels",)),
    "metrics: --run does not exist": Case(["metrics", "--run", "{d}/nope.tsv", "--qrels", "{d}/qrels.txt"],
                                          {"qrels.txt": QRELS}, says=("nope.tsv: no such file",)),
    "evaluate: empty candidates": Case(
        ["evaluate", "--metrics-out", "{d}/metrics.json", "--evals",
         json.dumps([{"name": "dev", "mode": "rerank", "queries": "{d}/q.parquet", "qrels": "{d}/r.parquet",
                      "candidates": "{d}/run.parquet", "run_out": "{d}/out-run.parquet"}])],
        {"run.parquet": parquet("run", {"query_id": [], "doc_id": [], "score": [], "rank": []}),
         "r.parquet": parquet("qrels", {"query_id": ["1"], "doc_id": ["d1"], "relevance": [1]})},
        says=("run.parquet: an empty run (0 rows)",), output="metrics.json"),
    # -- prepare ----------------------------------------------------------------------------------
    "prepare: empty collection": _prepare_case(("collection.tsv: no rows (an empty file)",), "corpus.parquet",
                                               collection=""),
    "prepare: truncated .gz queries": _prepare_case(("queries_dl19.tsv.gz: truncated gzip file",),
                                                    "queries-dl19.parquet",
                                                    queries_dl19=gz("9\tdl query\n" * 100)[:-9]),
    # -- training ---------------------------------------------------------------------------------
    "train: --model-out inside --checkpoint-dir": train(
        "model-out", "ckpt/model", says=("--model-out {d}/ckpt/model is inside --checkpoint-dir {d}/ckpt",),
        files={"ckpt/notes.txt": "the user's own file\n"}, kept=("ckpt/notes.txt",)),
    "train: --spec not JSON": train("spec", "{arch: de", says=("--spec: not JSON",)),
    "train: missing groups file": train(says=("g.parquet: no such file",)),
    "train: inf teacher score in the groups": train(
        says=("g.parquet: group 1 (query_id 'q2') has a non-finite teacher score",),
        files={"g.parquet": parquet("groups", {"query_id": ["q1", "q2"], "doc_ids": [["d1", "d2"]] * 2,
                                               "labels": [[1, 0]] * 2,
                                               "teacher_scores": [[2.0, 1.0], [float("inf"), 1.0]]})}),
    # -- faults -----------------------------------------------------------------------------------
    "fault: Ctrl-C during a download's retry wait": Case(
        ["download", "--url", "http://127.0.0.1:9/x.tsv", "--out", "{d}/x.tsv", "--backoff", "60", "--timeout", "1"],
        says=("interrupted (SIGINT)",), status=130, output="x.tsv", earlier=False, interrupt_at="retrying in"),
    # -- downloads --------------------------------------------------------------------------------
    "download: md5 mismatch is final": Case(
        ["download", "--url", "file://{d}/up.tsv", "--md5", "0" * 32, "--out", "{d}/got.tsv"],
        {"up.tsv": "the upstream bytes\n"}, says=("md5 mismatch", "kept for inspection at {d}/got.tsv.md5-mismatch",
                                                  "This is final"), output="got.tsv", earlier=False, repeat=True),
    "download: connection refused logs each attempt": Case(
        ["download", "--url", "http://127.0.0.1:9/x.tsv", "--out", "{d}/x.tsv", "--retries", "1",
         "--backoff", "0.01", "--timeout", "1"],
        says=("attempt 1/2 failed", "left in the retry budget", "giving up after 1 retries"), output="x.tsv",
        earlier=False),
    "download: bad --md5": Case(["download", "--url", "file://{d}/up.tsv", "--md5", "xyz", "--out", "{d}/o"],
                                {"up.tsv": "x\n"}, says=("md5 'xyz' is not 32 hexadecimal digits",), output="o",
                                earlier=False),
}


def _run(argv: list[str], d: Path, interrupt_at: str | None = None) -> subprocess.CompletedProcess:
    argv = [a.replace("{d}", str(d)) for a in argv]
    cmd = [sys.executable, *argv] if argv[0] == "-m" else [sys.executable, "-m", "dualrank.cli", *argv]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    if interrupt_at is None:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stderr:  # Ctrl-C as a user would press it, once the command is under way
        seen.append(line)
        if interrupt_at in line:
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "".join(seen) + err)


def run_case(case: Case, d: Path) -> tuple[subprocess.CompletedProcess, ...]:
    d.mkdir(parents=True)
    for name, content in case.files.items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.replace("{d}", str(d)).encode())
    if case.output and case.earlier:
        (d / case.output).write_bytes(EARLIER)
    first = _run(case.argv, d, case.interrupt_at)
    return (first, _run(case.argv, d)) if case.repeat else (first,)


@pytest.fixture(scope="module")
def results(request, tmp_path_factory):
    """Every selected case's result (``-k`` selects fewer)."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    base = tmp_path_factory.mktemp("bad-input")
    with ThreadPoolExecutor(4) as pool:
        futures = {name: pool.submit(run_case, case, base / f"case{i}")
                   for i, (name, case) in enumerate(CASES.items()) if name in selected}
        return {name: (f.result(), base / f"case{list(CASES).index(name)}") for name, f in futures.items()}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(CASES))
def test_case(results, name):
    case = CASES[name]
    procs, d = results[name]
    for proc in procs:
        shown = (proc.stderr + proc.stdout).replace(str(d), "{d}")
        assert proc.returncode == case.status, shown[-3000:]
        assert "Traceback (most recent call last)" not in shown, shown[-3000:]
        for part in case.says:
            assert part in shown, f"{part!r} not in:\n{shown[-3000:]}"
    if len(procs) == 2:
        first, again = ((p.stderr.strip().splitlines() or [""])[-1].split(": ", 1)[-1] for p in procs)
        assert again == first, "a retry says what the first run said"
    if case.output:
        out = d / case.output
        if case.earlier:
            assert out.read_bytes() == EARLIER, "the earlier output is left as it was"
        elif case.status != 0:
            assert not out.exists(), f"{out} written by a failed run"
        if out.parent.exists():
            assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")], "temporary left"
    for name_kept in case.kept:
        assert (d / name_kept).read_bytes() == case.files[name_kept].encode()
