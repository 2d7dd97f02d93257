"""FAISS search: queries per second and recall@100 of each offered index type against exact.

The vectors mimic a DE's output: a dual-encoder embedding passes through LayerNorm, so every
passage vector has the same norm; here they are drawn around 1,000 Gaussian centres (topics)
and scaled to unit norm, and each query is a passage vector plus noise (a query near its
passage). Recall@100 is the overlap of each index's top 100 with the exact (Flat) top 100.
Build time (training included) is reported too, since it is paid once per trained model.
"""

from __future__ import annotations

import time

import faiss
import numpy as np

from dualrank.retrieval import ann

# The types offered in config.yaml's `index` key, as the bench runs them.
SPECS = [
    {"factory": "Flat"},
    {"factory": "HNSW32", "search": "efSearch=128"},
    {"factory": "IVF1024,PQ32x4fs", "search": "nprobe=32", "train_size": 40000},
]


def vectors(n: int, n_queries: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    x = centres[rng.integers(0, 1000, n)] + 0.7 * rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, n_queries)] + 0.03 * rng.normal(size=(n_queries, dim)).astype(np.float32)
    return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(q, np.float32)


def run(n: int, n_queries: int, dim: int, k: int = 100) -> list[dict]:
    x, q = vectors(n, n_queries, dim)
    rows, truth = [], None
    for spec in SPECS:
        t0 = time.perf_counter()
        index = ann.build(spec, x)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, ids = index.search(q, k)
        qps = n_queries / (time.perf_counter() - t0)
        if truth is None:  # the first spec is the exact one
            truth = ids
        recall = float(np.mean([len(np.intersect1d(a, b)) / k for a, b in zip(ids, truth)]))
        name = spec["factory"] + (f" ({spec['search']})" if spec.get("search") else "")
        rows.append({"name": name, "qps": qps, "recall": recall, "build_s": built})
    return rows


def threads() -> int:
    return faiss.omp_get_max_threads()
