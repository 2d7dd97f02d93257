"""Benchmark: teacher import and top-K aggregation of a synthetic MS MARCO-scale teacher file.

    python -m tools.bench.aggregate [--triples 40000000] [--queries 400000] [--k 20]
        [--pandas-triples N] [--work DIR] [--keep] [--seed 0]

1. writes a synthetic teacher file in the published format of Hofstätter et al. (2020),
   ``pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid``, one line per triple (queries
   drawn uniformly, so ~triples/queries triples per query in shuffled order as in
   triples.train.small; 1 or, for 10% of the queries, 2 positives with a fixed score each;
   negatives drawn from the 8.8M MS MARCO pids);
2. ``dualrank teacher-import`` -> pairs Parquet (a child process);
3. ``dualrank aggregate --k K`` -> groups Parquet (a child process);
4. the same aggregation in plain pandas (read_parquet, drop_duplicates, sort_values,
   groupby().cumcount() < K, groupby().agg(list)) in a child process, on the first
   ``--pandas-triples`` triples (default: all of them when they look like they fit in memory,
   else 10M; the output says which), and the streaming aggregation again on that same subset;
   both outputs are compared for equality and the time ratio is printed.

Each child's wall time and peak RSS (``ru_maxrss`` of that child from ``os.wait4``) are
printed; the pass/fail line checks the aggregation's peak RSS against ``--rss-limit-gb`` (4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

N_PASSAGES = 8_841_823
CHUNK = 1_000_000
# Peak bytes per pair of the pandas baseline (measured: 0.92 GiB for 4.04M pairs, pandas 3.1 with
# Arrow-backed strings); used only to decide whether the full file is tried in pandas.
PANDAS_BYTES_PER_PAIR = 260


def generate(path: Path, triples: int, queries: int, seed: int = 0) -> None:
    """The synthetic teacher file (see module doc), written in chunks of 1M lines."""
    rng = np.random.default_rng(seed)
    qids = rng.permutation(1_200_000)[:queries] if queries <= 1_200_000 else np.arange(queries)
    pos1 = rng.integers(0, N_PASSAGES, queries)
    pos2 = rng.integers(0, N_PASSAGES, queries)
    two = rng.random(queries) < 0.1
    s1 = rng.normal(6.0, 1.5, queries).astype(np.float32)
    s2 = rng.normal(6.0, 1.5, queries).astype(np.float32)
    opts = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    schema = pa.schema([(n, t) for n, t in (("pos_score", pa.float32()), ("neg_score", pa.float32()),
                                            ("qid", pa.string()), ("pos_pid", pa.string()),
                                            ("neg_pid", pa.string()))])
    with pacsv.CSVWriter(str(path), schema, write_options=opts) as w:
        for start in range(0, triples, CHUNK):
            n = min(CHUNK, triples - start)
            q = rng.integers(0, queries, n)
            second = two[q] & (rng.random(n) < 0.5)
            pos = np.where(second, pos2[q], pos1[q])
            w.write_table(pa.table({
                "pos_score": np.where(second, s2[q], s1[q]),
                "neg_score": rng.normal(-1.0, 3.0, n).astype(np.float32),
                "qid": pa.array(qids[q]).cast(pa.string()),
                "pos_pid": pa.array(pos).cast(pa.string()),
                "neg_pid": pa.array(rng.integers(0, N_PASSAGES, n)).cast(pa.string()),
            }, schema=schema))


def head_lines(src: Path, dst: Path, n: int) -> None:
    with open(src, "rb") as f, open(dst, "wb") as g:
        for i, line in enumerate(f):
            if i >= n:
                break
            g.write(line)


def run_child(name: str, args: list[str]) -> dict:
    """Run ``python ARGS`` as a child; its wall time and peak RSS (its own, via wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Drain stderr in the background-free way: the children log little (a line per batch).
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    rss = usage.ru_maxrss * 1024  # kB on Linux
    print(f"  {name:<34} wall {wall:8.1f} s   peak RSS {rss / 2**30:6.2f} GiB", flush=True)
    return {"name": name, "wall": wall, "rss": rss}


def pandas_topk(pairs: str, out: str, k: int) -> None:
    """The plain pandas aggregation (the pipeline's first, in-memory implementation)."""
    import pandas as pd

    df = pd.read_parquet(pairs)
    df = df.drop_duplicates(["query_id", "doc_id"])
    df["_neg"] = df["label"] <= 0
    df = df.sort_values(["query_id", "_neg", "teacher_score"], ascending=[True, True, False], kind="stable")
    df = df[df.groupby("query_id").cumcount() < k]
    df = df.sort_values(["query_id", "teacher_score"], ascending=[True, False], kind="stable")
    g = df.groupby("query_id", sort=True).agg(doc_ids=("doc_id", list), labels=("label", list),
                                              teacher_scores=("teacher_score", list)).reset_index()
    has_both = g["labels"].map(lambda y: 0 < sum(v > 0 for v in y) < len(y))
    from dualrank.data import contracts

    contracts.write(g[has_both], out, "groups")


def same_groups(a: str, b: str) -> bool:
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    return ta.num_rows == tb.num_rows and all(ta[c].combine_chunks().equals(tb[c].combine_chunks())
                                              for c in ta.column_names)


def bench(a: argparse.Namespace) -> int:
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="dualrank-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    py = ["-m"]
    results = {}
    try:
        print(f"dualrank aggregate benchmark: {a.triples:,} triples over {a.queries:,} queries, K = {a.k}, "
              f"work dir {work}", flush=True)
        scores = work / "teacher.tsv"
        t0 = time.perf_counter()
        generate(scores, a.triples, a.queries, a.seed)
        print(f"  {'generate synthetic teacher file':<34} wall {time.perf_counter() - t0:8.1f} s   "
              f"{scores.stat().st_size / 1e9:.2f} GB", flush=True)
        pairs, groups = work / "pairs.parquet", work / "groups.parquet"
        results["import"] = run_child("teacher import (streamed)", py + [
            "dualrank.cli.teacher_import", "--scores", str(scores), "--out", str(pairs)])
        results["aggregate"] = run_child(f"aggregate top-{a.k} (streamed)", py + [
            "dualrank.cli.aggregate", "--pairs", str(pairs), "--k", str(a.k), "--out", str(groups)])
        import pyarrow.parquet as pq

        n_pairs = pq.ParquetFile(pairs).metadata.num_rows
        n_groups = pq.ParquetFile(groups).metadata.num_rows
        print(f"  -> {n_pairs:,} pairs, {n_groups:,} groups", flush=True)

        # The pandas baseline: the whole file if it looks like it fits, else a prefix.
        try:
            import psutil

            avail = psutil.virtual_memory().available
        except ImportError:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        n_pd = a.pandas_triples
        if n_pd is None:
            n_pd = a.triples if n_pairs * PANDAS_BYTES_PER_PAIR < 0.6 * avail else min(a.triples, 10_000_000)
        n_pd = min(n_pd, a.triples)
        if n_pd < a.triples:
            print(f"pandas baseline on the first {n_pd:,} triples (the full {a.triples:,} would need about "
                  f"{n_pairs * PANDAS_BYTES_PER_PAIR / 2**30:.0f} GiB in pandas; "
                  f"{avail / 2**30:.0f} GiB available); streamed again on the same subset:", flush=True)
            sub_scores, sub_pairs, sub_groups = work / "teacher-sub.tsv", work / "pairs-sub.parquet", \
                work / "groups-sub.parquet"
            head_lines(scores, sub_scores, n_pd)
            run_child("teacher import (subset)", py + [
                "dualrank.cli.teacher_import", "--scores", str(sub_scores), "--out", str(sub_pairs)])
            results["aggregate_same"] = run_child(f"aggregate top-{a.k} (streamed, subset)", py + [
                "dualrank.cli.aggregate", "--pairs", str(sub_pairs), "--k", str(a.k), "--out", str(sub_groups)])
        else:
            print("pandas baseline on the same file:", flush=True)
            sub_pairs, sub_groups = pairs, groups
            results["aggregate_same"] = results["aggregate"]
        pd_groups = work / "groups-pandas.parquet"
        results["pandas"] = run_child(f"pandas groupby top-{a.k}", py + [
            "tools.bench.aggregate", "--pandas-baseline", str(sub_pairs), str(pd_groups), "--k", str(a.k)])
        equal = same_groups(str(sub_groups), str(pd_groups))
        s, p = results["aggregate_same"], results["pandas"]
        print(f"  streamed / pandas on {n_pd:,} triples: time {s['wall'] / p['wall']:.2f}x, "
              f"peak RSS {s['rss'] / p['rss']:.2f}x; identical groups: {equal}", flush=True)
        ok = results["aggregate"]["rss"] <= a.rss_limit_gb * 1e9 and equal
        print(f"{'PASS' if ok else 'FAIL'}: aggregate peak RSS {results['aggregate']['rss'] / 1e9:.2f} GB "
              f"(limit {a.rss_limit_gb} GB), groups identical to pandas: {equal}", flush=True)
        return 0 if ok else 1
    finally:
        if not a.keep and not a.work:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--triples", type=int, default=40_000_000)
    p.add_argument("--queries", type=int, default=400_000)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--pandas-triples", type=int, help="triples for the pandas baseline (default: auto)")
    p.add_argument("--rss-limit-gb", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", help="keep the files in this directory (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="do not delete the temporary directory")
    p.add_argument("--pandas-baseline", nargs=2, metavar=("PAIRS", "OUT"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.pandas_baseline:
        pandas_topk(*a.pandas_baseline, a.k)
        return 0
    return bench(a)


if __name__ == "__main__":
    sys.exit(main())
