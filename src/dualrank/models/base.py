"""What every ranker shares: tokenisation to the paper's lengths, the output head, saving."""

from __future__ import annotations

import abc
import json
from pathlib import Path

import torch
from torch import nn

from .noise import mask_token_id, token_dropout


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

    def tokenize(self, texts, max_length: int, pair=None):
        enc = self.tokenizer(texts, pair, max_length=max_length, truncation=True,
                             padding=True, return_tensors="pt")
        if self.training and self.token_dropout > 0:
            enc["input_ids"] = token_dropout(enc["input_ids"], enc["attention_mask"], self.token_dropout,
                                             self.tokenizer.all_special_ids, mask_token_id(self.tokenizer))
        return {k: v.to(self.device) for k, v in enc.items()}

    def score_groups(self, queries: list[str], docs: list[list[str]]) -> torch.Tensor:
        """Scores [B, K] of B queries against their K documents each."""
        k = len(docs[0])
        flat_q = [q for q in queries for _ in range(k)]
        flat_d = [d for group in docs for d in group]
        return self.score_pairs(flat_q, flat_d).view(len(queries), k)

    @abc.abstractmethod
    def score_pairs(self, queries: list[str], docs: list[str]) -> torch.Tensor:
        """Scores [N] of N (query, passage) pairs; each architecture scores its own way."""

    def save(self, out_dir: str | Path) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.backbone.config.save_pretrained(out_dir)
        self.tokenizer.save_pretrained(out_dir)
        torch.save(self.state_dict(), out_dir / "weights.pt")
        (out_dir / "dualrank.json").write_text(json.dumps({"arch": self.arch, **self.settings}, indent=1))
