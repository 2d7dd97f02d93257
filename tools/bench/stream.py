"""Streamed exact retrieval against one FAISS Flat index: peak memory and time.

    python -m tools.bench stream [--passages 50000,200000] [--dim 64] [--queries 1000]
        [--depth 1000] [--chunk 16384]

Each side runs in its own process on the same synthetic embeddings (unit vectors around 1,000
centres, as in :mod:`.search`; generated chunk by chunk from per-chunk seeds, so the streamed
side never holds the corpus): ``flat`` builds the whole matrix and an ``IndexFlatIP`` of it and
searches (what ``index: {persistent: true}`` did for every retrieval run), ``stream`` runs
:func:`dualrank.retrieval.stream.search` over the chunks. Printed per corpus size: wall time,
peak RSS above the process's RSS after its imports, and whether the two top-``depth`` lists
are identical (ids, scores and order). The streamed side's peak should not grow with the corpus.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def chunk(i: int, size: int, n: int, dim: int, centres: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng([1, i])
    m = min(size, n - i * size)
    x = centres[rng.integers(0, len(centres), m)] + 0.7 * rng.normal(size=(m, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def side(kind: str, n: int, dim: int, n_queries: int, depth: int, size: int, out: str) -> None:
    import faiss  # noqa: F401  (imported before the baseline, as the library does)
    import torch  # noqa: F401

    from dualrank.retrieval import stream

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    centres = np.random.default_rng(0).normal(size=(1000, dim)).astype(np.float32)
    first = chunk(0, size, n, dim, centres)
    rng = np.random.default_rng(2)
    q = first[rng.integers(0, len(first), n_queries)] + 0.3 * rng.normal(size=(n_queries, dim)).astype(np.float32)
    parts = range(-(-n // size))
    t0 = time.perf_counter()
    if kind == "flat":
        import faiss

        index = faiss.IndexFlatIP(dim)
        index.add(np.concatenate([chunk(i, size, n, dim, centres) for i in parts]))
        scores, rows = index.search(q, depth)
    else:
        chunks = ((np.arange(i * size, i * size + m), x)
                  for i in parts for x in [chunk(i, size, n, dim, centres)] for m in [len(x)])
        scores, rows = stream.search(q, chunks, depth)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(out + ".rows.npy", rows)
    np.save(out + ".scores.npy", scores)
    print(json.dumps({"wall_s": wall, "peak_mb": (peak - base) / 1024}))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench stream", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", default="50000,200000", help="corpus sizes, comma-separated")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--chunk", type=int, default=16384, help="passages per streamed chunk")
    p.add_argument("--side", help=argparse.SUPPRESS)  # internal: run one side in this process
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.side:
        side(a.side, int(a.passages), a.dim, a.queries, a.depth, a.chunk, a.out)
        return 0
    print(f"{'passages':>9} {'dim':>4} {'side':>6} {'wall s':>7} {'peak MB':>8}  same top-{a.depth}")
    for n in map(int, a.passages.split(",")):
        got = {}
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("flat", "stream"):
                out = str(Path(tmp) / kind)
                proc = subprocess.run([sys.executable, "-m", "tools.bench", "stream", "--side", kind, "--passages",
                                       str(n), "--dim", str(a.dim), "--queries", str(a.queries), "--depth",
                                       str(a.depth), "--chunk", str(a.chunk), "--out", out],
                                      capture_output=True, text=True, check=True)
                got[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
                got[kind]["rows"], got[kind]["scores"] = np.load(out + ".rows.npy"), np.load(out + ".scores.npy")
        same = all(np.array_equal(got["flat"][x], got["stream"][x]) for x in ("rows", "scores"))
        for kind in ("flat", "stream"):
            g = got[kind]
            print(f"{n:>9} {a.dim:>4} {kind:>6} {g['wall_s']:>7.2f} {g['peak_mb']:>8.1f}  "
                  f"{'yes' if same else 'NO'}")
        st, fl = got["stream"], got["flat"]
        print(f"{n:>9} {a.dim:>4}  ratio stream/flat: peak memory {st['peak_mb'] / fl['peak_mb']:.2f}, "
              f"time {st['wall_s'] / fl['wall_s']:.2f}")
    return 0
