"""Training groups in memory: padded [N, K] arrays and a resumable, seeded batch sampler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dualrank.data import contracts
from dualrank.data.io import InputError


@dataclass
class Groups:
    query_ids: list[str]
    doc_ids: np.ndarray           # [N, K] object (str ids), padded with ""
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


def load_groups(path: str | Path, needs_teacher: bool) -> Groups:
    """The groups of ``path`` as padded [N, K] arrays, built column-wise from Arrow (no Python
    object per group: a triplet run reads one group per triple, ~40M for MS MARCO)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file (expected a groups table)")
    t = contracts.to_table(pq.read_table(path), "groups", where=str(path))
    if t.num_rows == 0:
        raise InputError(f"{path}: no training groups")
    docs = t["doc_ids"].combine_chunks()
    lens = pc.fill_null(pc.list_value_length(docs), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    n, k = t.num_rows, int(lens.max())
    rows = np.repeat(np.arange(n), lens)
    cols = np.arange(len(rows)) - np.repeat(np.cumsum(lens) - lens, lens)
    doc_ids = _padded(docs.flatten(), rows, cols, (n, k), "", object)
    labels = _padded(t["labels"].combine_chunks().flatten(), rows, cols, (n, k), 0, np.float32)
    mask = np.zeros((n, k), bool)
    mask[rows, cols] = True
    scores = t["teacher_scores"].combine_chunks()
    has_teacher = scores.null_count == 0 and np.array_equal(
        pc.list_value_length(scores).to_numpy(zero_copy_only=False), lens)
    if needs_teacher and not has_teacher:
        raise InputError(f"{path}: this loss distils from a teacher but the groups carry no teacher_scores")
    teacher = _padded(scores.flatten(), rows, cols, (n, k), 0, np.float32) if has_teacher else None
    if teacher is not None and not np.isfinite(teacher).all():
        row = int(np.flatnonzero(~np.isfinite(teacher).all(axis=1))[0])
        raise InputError(f"{path}: group {row} (query_id {t['query_id'][row].as_py()!r}) has a non-finite teacher "
                         f"score ({int((~np.isfinite(teacher)).sum())} in all): a loss would be inf or NaN")
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
