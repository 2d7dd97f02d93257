"""An auxiliary masked-language-model loss for a ranker's BERT (Table 9, paper C.10).

BERT's MLM head (Devlin et al. 2019): a dense + GELU + LayerNorm transform, then logits
against the word-embedding matrix (tied, as in ``BertForMaskedLM``) plus a per-token bias.
It lives beside the ranker, not in it: the head is trained with the ranker but is never part
of the saved model, so a saved model scores exactly as one trained without it.

Pre-trained encoders (``hf_id`` / ``path``) start from the checkpoint's own head
(``cls.predictions`` of ``BertForMaskedLM``); ``init`` encoders and checkpoints without a head
start from BERT's initialisation (normal(0, initializer_range) weights, zero biases).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import BertForMaskedLM
from transformers.models.bert.modeling_bert import BertPredictionHeadTransform

from dualrank.models.base import Ranker
from dualrank.models.encoders import is_init, source
from dualrank.models.noise import IGNORE, mask_token_id, mlm_mask

log = logging.getLogger(__name__)


class MaskedLMHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        nn.init.normal_(self.transform.dense.weight, std=config.initializer_range)
        nn.init.zeros_(self.transform.dense.bias)

    def forward(self, hidden: Tensor, word_embeddings: Tensor) -> Tensor:
        return F.linear(self.transform(hidden), word_embeddings, self.bias)


def build_mlm_head(ranker: Ranker, encoder: dict) -> MaskedLMHead:
    head = MaskedLMHead(ranker.backbone.config)
    src = None if is_init(encoder) else source(encoder)
    if src is not None:
        pretrained, info = BertForMaskedLM.from_pretrained(src, output_loading_info=True)
        missing = [k for k in info["missing_keys"] if k.startswith("cls.")]
        if missing:
            log.warning("%s has no pre-trained MLM head (missing %s); it starts from BERT's initialisation",
                        src, missing[:3])
        else:
            p = pretrained.cls.predictions
            head.transform.load_state_dict(p.transform.state_dict())
            head.bias.data.copy_(p.bias.data)
        del pretrained
    return head


class MaskedLanguageModel(nn.Module):
    """``loss(ranker, [(texts, max_length), ...])``: mean cross-entropy over every masked token
    of every text, each text tokenised alone as the ranker's encoder sees a query or passage."""

    def __init__(self, ranker: Ranker, encoder: dict, probability: float = 0.15):
        super().__init__()
        self.head = build_mlm_head(ranker, encoder)
        self.probability = probability

    def forward(self, ranker: Ranker, inputs: list[tuple[list[str], int]]) -> Tensor:
        tok, dev = ranker.tokenizer, ranker.device
        emb = ranker.backbone.get_input_embeddings().weight
        vocab = min(len(tok), emb.shape[0])  # random replacements: real tokens the model can embed
        logits, labels = [], []
        for texts, max_length in inputs:
            if not len(texts):
                continue
            # Texts or cached token ids alike: [CLS] x [SEP] within max_length, padded.
            enc = {k: v.cpu() for k, v in ranker.padded(ranker.token_ids(texts, max_length - 2)).items()}
            ids, y = mlm_mask(enc["input_ids"], enc["attention_mask"], self.probability, tok.all_special_ids,
                              mask_token_id(tok), vocab)
            enc = {k: v.to(dev) for k, v in enc.items()}
            enc["input_ids"], y = ids.to(dev), y.to(dev)
            hidden = ranker.backbone(**enc).last_hidden_state
            picked = y != IGNORE
            logits.append(self.head(hidden[picked], emb))
            labels.append(y[picked])
        if not labels or sum(len(y) for y in labels) == 0:
            return emb.sum() * 0.0  # no token was masked: a zero that keeps the graph
        return F.cross_entropy(torch.cat(logits).float(), torch.cat(labels))
