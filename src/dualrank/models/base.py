"""What every ranker shares: tokenisation to the paper's lengths, the output head, saving.

Rankers score texts or pre-tokenised sequences alike: wherever a method takes ``queries`` or
``docs``, each item is either a string or a 1-D array of token ids without special tokens
(what :mod:`dualrank.text.cache` caches), truncated here to the ranker's lengths. Texts are
tokenised on the spot; training and evaluation pass cached ids, tokenised once per corpus.
"""

from __future__ import annotations

import abc
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dualrank.models.noise import mask_token_id, token_dropout
from dualrank.models import packed, saved


class OutputHead(nn.Module):
    """Dropout (0.1) and layer normalisation on the output embedding (paper, Appendix B)."""

    def __init__(self, hidden: int, dropout: float, layer_norm: bool):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden) if layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.dropout(x))


class Ranker(nn.Module, abc.ABC):
    """A scorer s(q, d). Subclasses implement ``score_pairs`` and ``score_groups``."""

    arch: str = ""
    # Training-only input corruption (Table 9), set by the trainer: not a model setting, so
    # neither saved nor applied in eval mode (scoring of a saved model is unaffected).
    token_dropout: float = 0.0

    def __init__(self, backbone, tokenizer, query_length: int, passage_length: int,
                 dropout: float = 0.1, layer_norm: bool = True):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.query_length = query_length
        self.passage_length = passage_length
        self.settings = dict(query_length=query_length, passage_length=passage_length,
                             dropout=dropout, layer_norm=layer_norm)
        self.head = OutputHead(backbone.config.hidden_size, dropout, layer_norm)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # The lengths count [CLS] and [SEP], as Hugging Face's max_length does; the cached ids
    # carry no special tokens, hence the 2.
    @property
    def query_token_length(self) -> int:
        """Length of the query ids this ranker reads (no special tokens)."""
        return self.query_length - 2

    @property
    def doc_token_length(self) -> int:
        """Length of the passage ids this ranker reads (no special tokens)."""
        return self.passage_length - 2

    def tokenize(self, texts, max_length: int, pair=None):
        """Hugging Face's padded encoding of texts (the reference the packed path is tested on)."""
        enc = self.tokenizer(texts, pair, max_length=max_length, truncation=True,
                             padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def token_ids(self, seqs, max_length: int) -> list[np.ndarray]:
        """Texts or token-id arrays -> token-id arrays of at most ``max_length`` (no specials)."""
        seqs = list(seqs)
        if seqs and isinstance(seqs[0], str):
            enc = self.tokenizer(seqs, add_special_tokens=False, truncation=True, max_length=max_length,
                                 return_attention_mask=False, return_token_type_ids=False)["input_ids"]
            return [np.asarray(x, np.int64) for x in enc]
        return [np.asarray(x)[:max_length] for x in seqs]

    def autocast(self):
        """bf16 autocast on CUDA (fp32 master weights); CPU runs in fp32."""
        dev = self.device
        return torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else nullcontext()

    def pack(self, first, second=None) -> packed.Packed:
        t = self.tokenizer
        return packed.pack(first, t.cls_token_id, t.sep_token_id, self.device, second)

    def padded(self, seqs: list[np.ndarray]) -> dict[str, torch.Tensor]:
        """[CLS] s [SEP], right-padded, as a Hugging Face model's input (the dynamic padding of
        the longest sequence)."""
        t = self.tokenizer
        n, length = len(seqs), max((len(s) for s in seqs), default=0) + 2
        ids = np.full((n, length), t.pad_token_id, np.int64)
        mask = np.zeros((n, length), np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s) + 2] = [t.cls_token_id, *s, t.sep_token_id]
            mask[i, : len(s) + 2] = 1
        return {"input_ids": torch.from_numpy(ids).to(self.device),
                "attention_mask": torch.from_numpy(mask).to(self.device)}

    def drop_tokens(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        """Table 9's token dropout while training: each token id (specials are added later, so
        none is here but [UNK] and the like, which stay) becomes [MASK] with probability p."""
        if not (self.training and self.token_dropout > 0) or not seqs:
            return seqs
        lengths = [len(s) for s in seqs]
        flat = torch.from_numpy(np.concatenate([np.asarray(s, np.int64) for s in seqs]))[None]
        flat = token_dropout(flat, torch.ones_like(flat), self.token_dropout, self.tokenizer.all_special_ids,
                             mask_token_id(self.tokenizer))[0].numpy()
        return np.split(flat, np.cumsum(lengths)[:-1])

    def cls(self, first, second=None) -> torch.Tensor:
        """The backbone's [CLS] output (fp32) for sequences (or pairs) of token ids."""
        first = self.drop_tokens(first)
        second = None if second is None else self.drop_tokens(second)
        with self.autocast():
            if packed.supported(self.backbone.config):
                out = packed.cls_states(self.backbone, self.pack(first, second))
            else:
                if second is not None:
                    raise ValueError("pairs need the packed path (an absolute-position encoder)")
                out = self.backbone(**self.padded(first)).last_hidden_state[:, 0]
        return out.float()

    def score_groups(self, queries, docs) -> torch.Tensor:
        """Scores [B, K] of B queries against their K documents each."""
        k = len(docs[0])
        queries = self.token_ids(queries, self.query_token_length)  # each query tokenised once
        flat_q = [q for q in queries for _ in range(k)]
        flat_d = [d for group in docs for d in group]
        return self.score_pairs(flat_q, flat_d).view(len(queries), k)

    @abc.abstractmethod
    def score_pairs(self, queries, docs) -> torch.Tensor:
        """Scores [N] of N (query, passage) pairs; each architecture scores its own way."""

    def save(self, out_dir: str | Path) -> None:
        """Safetensors weights in the layouts sentence-transformers and transformers load
        (:mod:`dualrank.models.saved`)."""
        saved.save(self, out_dir)
