"""Rankers: cross-attention (ca), dual-encoder (de) and late-interaction (colbert)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from dualrank.data.io import InputError
from dualrank.models import saved
from dualrank.models.base import Ranker
from dualrank.models.ca import CrossEncoder
from dualrank.models.colbert import ColBERT
from dualrank.models.de import DualEncoder
from dualrank.models.encoders import build_backbone, load_pretrained, load_tokenizer

ARCHS: dict[str, type[Ranker]] = {"ca": CrossEncoder, "de": DualEncoder, "colbert": ColBERT}


def build_model(arch: str, encoder: dict, tokenizer_dir: str | None, query_length: int,
                passage_length: int, dropout: float = 0.1, layer_norm: bool = True,
                pretrained: str | None = None) -> Ranker:
    """A ranker on a new backbone, or, for an `init` encoder, on the weights ``dualrank
    pretrain`` saved in ``pretrained``."""
    if arch not in ARCHS:
        raise InputError(f"unknown architecture {arch!r}; known: {sorted(ARCHS)}")
    tokenizer = load_tokenizer(encoder, tokenizer_dir)
    backbone = build_backbone(encoder, tokenizer, dropout)
    if pretrained is not None:
        load_pretrained(backbone, pretrained)
    return ARCHS[arch](backbone, tokenizer, query_length=query_length,
                       passage_length=passage_length, dropout=dropout, layer_norm=layer_norm)


def load_model(model_dir: str | Path, device: str | torch.device = "cpu") -> Ranker:
    """Load a model saved by ``Ranker.save`` (no network: everything is in the directory); its
    safetensors layout (:mod:`dualrank.models.saved`) or an older run's ``weights.pt``."""
    model_dir = Path(model_dir)
    meta_path = model_dir / "dualrank.json"
    if not meta_path.exists():
        raise InputError(f"{model_dir}: not a dualrank model directory (no dualrank.json)")
    meta = json.loads(meta_path.read_text())
    arch = meta.pop("arch")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    backbone = BertModel(BertConfig.from_pretrained(str(model_dir)), add_pooling_layer=False)
    model = ARCHS[arch](backbone, tokenizer, **meta)
    model.load_state_dict(saved.read_weights(model_dir))
    return model.to(device).eval()


__all__ = ["ARCHS", "Ranker", "CrossEncoder", "DualEncoder", "ColBERT", "build_model", "load_model"]
