"""Extra negatives for every query of a minibatch: in-batch and uniform (Table 12, paper C.12).

Following Karpukhin et al. (2020) and Qu et al. (2021) as the paper describes them:

* in-batch: D_obs is the set of all documents of the minibatch's groups; each query gets
  every element of D_obs outside its own group as a negative -- outside every group of that
  query in the batch: with triplet data (one group per triple) a query may hold two rows of a
  batch, and its other triple's positive must not become its negative;
* uniform: ``uniform`` documents drawn uniformly without replacement from the whole corpus
  once per minibatch, negatives for every query (except a query whose group holds one).

Each query's [K] group becomes [K + M]: its own K slots, then the M extra documents shared by
the batch, label 0, masked out (mask False) for the queries whose group contains them.
Documents are identified by their text: two ids with the same text are one document (scoring
cannot tell them apart, so one must not be a negative of the other's query); queries likewise
(two rows with the same query text are one query's).

Teacher scores: the teacher never scored the extra documents, so they have none: their
``teacher_mask`` is False (their teacher slots hold 0, which no loss reads; see
:mod:`dualrank.losses.base`). C.12 says only that "each such document is treated as a negative
document in the loss"; what that means for each loss, where it needs a teacher score, rests on
one assumption: an extra document is no more relevant than the least relevant negative the
teacher scored for the query (t_floor, the lowest teacher score among the group's negatives),
so a term that would match its unknown teacher score becomes one-sided, a hinge that never
pulls an extra's score up:

* ``one_hot``, ``focal``: a negative, label 0, in the softmax (label smoothing spreads over
  the extras too);
* ``softmax_ce``: teacher probability 0 (the teacher's softmax over the documents it scored),
  student probability from the softmax over all, so only the student's normaliser sees it;
* ``m3se``: never j* (the top *scored* negative) and only in the hinge term [s_e - s_j*]_+^2
  (Eq. 4's second sum, which needs no teacher score);
* ``margin_mse``: for each positive i, [(t_i - t_floor) - (s_i - s_e)]_+^2: the student's
  margin to the extra at least the teacher's margin to its least relevant negative;
* ``rankdistil_b``: a negative, [s_e - gamma0]_+^2 (needs no teacher score);
* ``mse``: [s_e - t_floor]_+^2, the student's score at most the teacher's lowest for a negative.

The DE scores them with one matrix product (the batch's queries x every distinct document of
the batch, each encoded once); CA and ColBERT score every (query, extra document) pair, which
costs B x M forward passes. The uniform draw is a function of (seed, step) alone, so a resumed
run draws what an uninterrupted one would.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from dualrank.data.contracts import open_parquet
from dualrank.data.io import InputError

log = logging.getLogger(__name__)

UNIFORM_STREAM = 0x756E69  # "uni": keeps this RNG stream apart from the sampler's (seed, epoch)


def _key(doc) -> Hashable:
    return doc if isinstance(doc, Hashable) else tuple(doc)


def _same_query(queries: list) -> np.ndarray:
    """[B, B] int: 1 where rows i and j hold the same query (by text or token ids)."""
    keys = [_key(q) for q in queries]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    row = np.array([ids[k] for k in keys], np.int64)
    return (row[:, None] == row[None, :]).astype(np.int64)


class ExtraNegatives:
    def __init__(self, in_batch: bool, uniform: int, seed: int, corpus: str | Path | None = None):
        """``in_batch`` and ``uniform``: training.in_batch_negatives and uniform_negatives,
        checked by :class:`dualrank.spec.TrainingSpec`."""
        self.in_batch, self.uniform, self.seed = in_batch, uniform, seed
        self.corpus, self.docs = corpus, None
        self.corpus_texts: pa.ChunkedArray | None = None
        if uniform:
            if corpus is None:
                raise InputError("training.uniform_negatives > 0 needs the corpus to draw from")
            self.n_docs = open_parquet(corpus, "corpus").metadata.num_rows  # the footer only
            log.info("uniform negatives: %d per minibatch from %d passages of %s", uniform, self.n_docs, corpus)

    def bind(self, docs) -> None:
        """Draw token rows of ``docs`` (the corpus's memory-mapped token table, the rows the groups
        index) instead of texts: the same passages, already tokenised, and no job holds the
        corpus's text (MS MARCO: ~3 GB)."""
        self.docs = docs

    @property
    def enabled(self) -> bool:
        return self.in_batch or self.uniform > 0

    def uniform_draw(self, step: int) -> list:
        """The step's passages: token-id arrays once bound to a token table, else texts (the
        corpus's text column, read on the first draw: for groups of texts, e.g. in tests)."""
        n = self.n_docs
        rng = np.random.default_rng([self.seed, step, UNIFORM_STREAM])
        idx = rng.choice(n, size=min(self.uniform, n), replace=False)
        if self.docs is not None:
            return [self.docs.row(int(i)) for i in idx]
        if self.corpus_texts is None:
            self.corpus_texts = open_parquet(self.corpus, "corpus").read(columns=["text"]).column("text")
        return self.corpus_texts.take(pa.array(idx)).to_pylist()

    def __call__(self, model, queries: list, docs: list[list], teacher: Tensor | None, labels: Tensor,
                 mask: Tensor, step: int) -> tuple[Tensor, Tensor | None, Tensor, Tensor, Tensor]:
        """(student scores, teacher, labels, mask, teacher_mask), each [B, K + M]; teacher_mask
        is False at the extras (their teacher slots hold 0)."""
        b, k = labels.shape
        real = mask.bool().cpu().numpy()
        index: dict[Hashable, int] = {}
        distinct: list = []

        def slot(doc) -> int:
            key = _key(doc)
            if key not in index:
                index[key] = len(distinct)
                distinct.append(doc)
            return index[key]

        own = np.zeros((b, k), np.int64)  # padded slots point anywhere: they stay masked
        for i in range(b):
            for j in range(k):
                if real[i, j]:
                    own[i, j] = slot(docs[i][j])
        extra = list(range(len(distinct))) if self.in_batch else []
        if self.uniform:
            drawn = self.uniform_draw(step)
            if k and not isinstance(docs[0][0], str):
                # The groups hold cached token ids: tokenise the draw the same way.
                drawn = model.token_ids(drawn, model.doc_token_length)
            extra = list(dict.fromkeys(extra + [slot(d) for d in drawn]))
        dev = labels.device
        # An extra document is a negative of every query whose own (real) slots do not hold it,
        # in any of the batch's rows of that query.
        held = ((own[:, :, None] == np.asarray(extra, np.int64)[None, None, :]) & real[:, :, None]).any(1)
        held = _same_query(queries) @ held.astype(np.int64) > 0
        extra_mask = torch.as_tensor(~held, device=dev)
        student = self._scores(model, queries, docs, distinct, torch.as_tensor(own, device=dev),
                               torch.as_tensor(extra, dtype=torch.long, device=dev))
        m = len(extra)
        labels = torch.cat([labels, labels.new_zeros(b, m)], 1)
        if teacher is not None:
            teacher = torch.cat([teacher, teacher.new_zeros(b, m)], 1)
        scored = torch.cat([torch.ones_like(mask, dtype=torch.bool), extra_mask.new_zeros(b, m)], 1)
        return student, teacher, labels, torch.cat([mask.bool(), extra_mask], 1), scored

    @staticmethod
    def _scores(model, queries, docs, distinct, own: Tensor, extra: Tensor) -> Tensor:
        if hasattr(model, "encode_queries"):
            # Dual encoder: every distinct document once, then one [B, H] x [H, U] product.
            s = model.encode_queries(queries) @ model.encode_docs(distinct).T
            return torch.cat([s.gather(1, own), s[:, extra]], 1)
        own_s = model.score_groups(queries, docs)
        if len(extra) == 0:
            return own_s
        shared = [distinct[j] for j in extra.tolist()]
        return torch.cat([own_s, model.score_groups(queries, [shared] * len(queries))], 1)
