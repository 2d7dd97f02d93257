"""FAISS index types for retrieval: exact inner product or an approximate index, by config.

config.yaml's ``index`` key (the index stage's ``--index-spec``)::

    index: {factory: Flat}                                        # exact (the default)
    index: {factory: HNSW32, search: efSearch=256}                # graph, no training
    index: {factory: "IVF65536,PQ96x4fs", search: nprobe=64, train_size: 2000000}

``factory`` is a FAISS index factory string (built with the inner-product metric), ``search``
a FAISS ParameterSpace string applied at search time (it is not stored in the index file),
``train_size`` how many passages (a seeded sample) train an index that needs training.
``python -m tools.bench`` reports each offered type's queries per second and recall@100
against exact search; approximate indexes lose recall, so Table 1's retrieval column is exact.
"""

from __future__ import annotations

import logging
import time

import faiss
import numpy as np

from dualrank.data.io import InputError

log = logging.getLogger(__name__)

EXACT = {"factory": "Flat"}
KEYS = {"factory", "search", "train_size"}


def check_spec(spec: dict, dim: int | None = None) -> dict:
    """The spec with its defaults. With the embedding dimension, a factory string FAISS cannot
    build at that dimension, or search parameters it does not take, fail here, before any
    encoding (the DAG checks the config's ``index`` so: dualrank.grid.check_resources)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("factory"), str):
        raise InputError(f"index spec {spec!r}: needs a FAISS factory string under 'factory'")
    unknown = set(spec) - KEYS
    if unknown:
        raise InputError(f"index spec: unknown key(s) {sorted(unknown)}; known: {sorted(KEYS)}")
    if dim is not None:
        set_search_params(new(spec["factory"], dim), spec)
    return {"search": "", "train_size": 1_000_000, **spec}


def new(factory: str, dim: int) -> faiss.Index:
    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        raise InputError(f"index spec: FAISS cannot build {factory!r} for dimension {dim}: "
                         f"{str(e).strip().splitlines()[-1]}") from e


def build(spec: dict, emb: np.ndarray, seed: int = 0) -> faiss.Index:
    """An index of ``emb`` [N, d] float32 rows (row i is passage i)."""
    spec = check_spec(spec)
    index = new(spec["factory"], emb.shape[1])
    if not index.is_trained:
        n = min(len(emb), spec["train_size"])
        sample = emb[np.sort(np.random.default_rng(seed).choice(len(emb), n, replace=False))]
        t0 = time.time()
        index.train(sample)
        log.info("trained %s on %d vectors in %.1fs", spec["factory"], n, time.time() - t0)
    index.add(emb)
    set_search_params(index, spec)
    return index


def set_search_params(index: faiss.Index, spec: dict) -> None:
    if spec.get("search"):
        try:
            faiss.ParameterSpace().set_index_parameters(index, spec["search"])
        except RuntimeError as e:
            raise InputError(f"index spec: bad search parameters {spec['search']!r}: "
                             f"{str(e).splitlines()[-1]}") from e
