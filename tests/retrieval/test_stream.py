"""Streamed exact retrieval against FAISS's own Flat search: the same ids in the same order
(ties included) and the same scores bit for bit, on random embeddings full of ties and on a
corpus encoded by a real (tiny, random) dual-encoder."""

import faiss
import numpy as np
import pandas as pd
import pytest
import torch

from dualrank.retrieval import stream
import retrieval_data


data = retrieval_data.data  # the fixture (module-scoped there)


def chunked(x, size, rng):
    """``x``'s rows in chunks of ``size`` random rows each (ascending within a chunk)."""
    perm = rng.permutation(len(x))
    return [(np.sort(perm[i:i + size]), x[np.sort(perm[i:i + size])]) for i in range(0, len(x), size)]


@pytest.mark.parametrize("seed", range(12))
def test_streaming_equals_flat_search_with_ties(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(5, 2000)), int(rng.integers(2, 9))
    nq, k = int(rng.integers(1, 40)), int(rng.integers(1, 60))
    if seed % 2:  # small integers: exact inner products, so many exact ties at every rank
        x = rng.integers(-2, 3, size=(n, d)).astype("float32")
    else:  # real-valued, a third of the rows duplicates of row 0 (duplicate passages)
        x = rng.standard_normal((n, d)).astype("float32")
        x[rng.integers(0, n, n // 3)] = x[0]
    q = rng.integers(-2, 3, size=(nq, d)).astype("float32")
    flat = faiss.IndexFlatIP(d)
    flat.add(x)
    want_s, want_r = flat.search(q, min(k, n))
    got_s, got_r = stream.search(torch.from_numpy(q), chunked(x, int(rng.integers(1, 400)), rng), k)
    np.testing.assert_array_equal(got_r, want_r)
    np.testing.assert_array_equal(got_s, want_s)  # FAISS's own kernel: the same bits


def test_the_running_lists_keep_the_smallest_rows_among_ties():
    # Every row scores 1: FAISS keeps rows 5..9 of the first 10 it saw (it admits a row only if it
    # beats the worst kept, and evicts the smallest row first), listed by row descending.
    x = np.ones((50, 2), "float32")
    x[10:20] = 2  # then these ten score 4 and come first
    got_s, got_r = stream.search(torch.ones(1, 2), chunked(x, 7, np.random.default_rng(0)), 15)
    assert got_r[0].tolist() == [*range(19, 9, -1), 9, 8, 7, 6, 5]
    assert got_s[0].tolist() == [4.0] * 10 + [2.0] * 5


def test_streamed_run_equals_the_flat_index_run(data, tmp_path):
    from dualrank.models import load_model
    from dualrank.retrieval import index
    from dualrank.text.cache import for_model

    model = load_model(data / "model", "cpu")
    corpus = str(data / "corpus.parquet")
    table = for_model(data / "queries-dev.parquet", "queries", model)
    queries = {q: table[q] for q in table}
    index.build_index(model, corpus, tmp_path / "index", batch_size=8)
    n = len(pd.read_parquet(corpus))
    for depth in (10, n):
        flat = index.retrieve(model, tmp_path / "index", queries, depth, batch_size=8)
        streamed = stream.retrieve(model, corpus, queries, depth, batch_size=8, chunk_size=20)
        assert len(flat) == len(queries) * depth
        pd.testing.assert_frame_equal(streamed, flat, check_exact=True)
