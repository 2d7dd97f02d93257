"""Training groups in memory: padded [N, K] arrays and a resumable, seeded batch sampler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dualrank.data import contracts
from dualrank.data.io import InputError


@dataclass
class Groups:
    query_ids: list[str]
    doc_ids: list[list[str]]      # padded with "" to K
    labels: np.ndarray            # [N, K] float32
    teacher: np.ndarray | None    # [N, K] float32, None for label-only groups
    mask: np.ndarray              # [N, K] bool, False on padding

    @property
    def k(self) -> int:
        return self.labels.shape[1]

    def __len__(self) -> int:
        return len(self.query_ids)


def load_groups(path: str | Path, needs_teacher: bool) -> Groups:
    df = contracts.read(path, "groups")
    if df.empty:
        raise InputError(f"{path}: no training groups")
    k = int(df["doc_ids"].map(len).max())
    n = len(df)
    labels = np.zeros((n, k), np.float32)
    teacher = np.zeros((n, k), np.float32)
    mask = np.zeros((n, k), bool)
    docs: list[list[str]] = []
    has_teacher = True
    for i, (d, y, t) in enumerate(zip(df["doc_ids"], df["labels"], df["teacher_scores"])):
        m = len(d)
        docs.append(list(d) + [""] * (k - m))
        labels[i, :m] = y
        mask[i, :m] = True
        if t is None or len(t) != m:
            has_teacher = False
        else:
            teacher[i, :m] = t
    if needs_teacher and not has_teacher:
        raise InputError(f"{path}: this loss distils from a teacher but the groups carry no teacher_scores")
    return Groups(df["query_id"].tolist(), docs, labels, teacher if has_teacher else None, mask)


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
