"""Training groups in memory: padded [N, K] arrays and a resumable, seeded batch sampler.

With the corpus's and queries' token tables (:mod:`dualrank.text.cache`), a job holds each
group's documents and query as row numbers of those (memory-mapped) tables, converted a million
ids at a time: MS MARCO's ~40M triplet groups take ~0.5 GB of int32 rows, where their ids as Python
strings took ~7 GB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.text.cache import Sequences, TokenTable

#: Ids converted to token-table rows at a time (their Python strings exist only for a chunk).
CHUNK_IDS = 1 << 20


@dataclass
class Groups:
    query_ids: list[str] | Sequences  # ids; or rows of the queries' token table
    doc_ids: np.ndarray | Sequences   # [N, K] object (str ids) padded with ""; or rows, -1 padding
    labels: np.ndarray            # [N, K] float32
    teacher: np.ndarray | None    # [N, K] float32, None for label-only groups
    mask: np.ndarray              # [N, K] bool, False on padding

    @property
    def k(self) -> int:
        return self.labels.shape[1]

    def __len__(self) -> int:
        return len(self.query_ids)


def _padded(values: pa.Array, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], fill, dtype) -> np.ndarray:
    out = np.full(shape, fill, dtype)
    out[rows, cols] = values.to_numpy(zero_copy_only=False)
    return out


def _rows(ids: pa.Array, table: TokenTable) -> np.ndarray:
    """Row numbers in ``table`` of Arrow string ``ids``, converted CHUNK_IDS at a time; an id the
    table lacks fails naming the table's file."""
    out = np.empty(len(ids), np.int64)
    for s in range(0, len(ids), CHUNK_IDS):
        out[s:s + CHUNK_IDS] = table.positions(ids.slice(s, CHUNK_IDS).to_numpy(zero_copy_only=False))
    return out


def read_groups(path: str | Path, needs_teacher: bool) -> pa.Table:
    """The groups table of ``path``, checked (schema, not empty, teacher scores present when
    ``needs_teacher`` and finite), as Arrow: a job checks it before it builds anything else."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file (expected a groups table)")
    t = contracts.to_table(pq.read_table(path), "groups", where=str(path))
    if t.num_rows == 0:
        raise InputError(f"{path}: no training groups")
    scores = t["teacher_scores"].combine_chunks()
    has_teacher = _has_teacher(t)
    if needs_teacher and not has_teacher:
        raise InputError(f"{path}: this loss distils from a teacher but the groups carry no teacher_scores")
    if has_teacher:
        finite = pc.is_finite(scores.flatten()).to_numpy(zero_copy_only=False)
        if not finite.all():
            offsets = scores.offsets.to_numpy()
            row = int(np.searchsorted(offsets, np.flatnonzero(~finite)[0], side="right") - 1)
            raise InputError(f"{path}: group {row} (query_id {t['query_id'][row].as_py()!r}) has a non-finite "
                             f"teacher score ({int((~finite).sum())} in all): a loss would be inf or NaN")
    return t


def _has_teacher(t: pa.Table) -> bool:
    scores = t["teacher_scores"].combine_chunks()
    return scores.null_count == 0 and np.array_equal(
        pc.list_value_length(scores).to_numpy(zero_copy_only=False),
        pc.list_value_length(t["doc_ids"].combine_chunks()).to_numpy(zero_copy_only=False))


def load_groups(path: str | Path, needs_teacher: bool, doc_table: TokenTable | None = None,
                query_table: TokenTable | None = None, table: pa.Table | None = None) -> Groups:
    """The groups of ``path`` (or its ``table`` from :func:`read_groups`) as padded [N, K]
    arrays, built column-wise from Arrow (no Python object per group: a triplet run reads one
    group per triple, ~40M for MS MARCO). With ``doc_table`` and ``query_table`` (both or
    neither), ids become rows of those token tables (see the module)."""
    t = read_groups(path, needs_teacher) if table is None else table
    docs = t["doc_ids"].combine_chunks()
    lens = pc.fill_null(pc.list_value_length(docs), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    n, k = t.num_rows, int(lens.max())
    rows = np.repeat(np.arange(n), lens)
    cols = np.arange(len(rows)) - np.repeat(np.cumsum(lens) - lens, lens)
    flat_docs = docs.flatten()
    if tables := (doc_table is not None):
        doc_ids = np.full((n, k), -1, np.int32)  # 21M rows at most (NQ's corpus)
        doc_ids[rows, cols] = _rows(flat_docs, doc_table)
    else:
        doc_ids = _padded(flat_docs, rows, cols, (n, k), "", object)
    labels = _padded(t["labels"].combine_chunks().flatten(), rows, cols, (n, k), 0, np.float32)
    mask = np.zeros((n, k), bool)
    mask[rows, cols] = True
    teacher = None
    if _has_teacher(t):
        teacher = _padded(t["teacher_scores"].combine_chunks().flatten(), rows, cols, (n, k), 0, np.float32)
    if tables:
        query_rows = _rows(t["query_id"].combine_chunks(), query_table).astype(np.int32)
        return Groups(Sequences(query_table, query_rows), Sequences(doc_table, doc_ids),
                      labels, teacher, mask)
    return Groups(t["query_id"].to_pylist(), doc_ids, labels, teacher, mask)


class Sampler:
    """Epochs of seeded permutations; ``state`` is (epoch, position) so a resumed job continues
    with exactly the batches it would have seen."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def next(self) -> np.ndarray:
        if self.pos + self.batch_size > self.n and self.pos > 0:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation()
        idx = self._perm[self.pos:self.pos + self.batch_size]
        self.pos += len(idx)
        return idx

    def state(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def restore(self, state: dict) -> None:
        self.epoch, self.pos = state["epoch"], state["pos"]
        self._perm = self._permutation()
