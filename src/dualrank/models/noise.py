"""Input corruption for training: token dropout (Table 9) and BERT's MLM masking.

Both act on tokenised inputs and touch only *maskable* tokens: real (attention mask 1), not
special ([CLS], [SEP], [PAD], [MASK], [UNK], ...). Random draws come from torch's CPU
generator (the global one unless ``generator`` is given) whatever the model's device, so
that the trainer's checkpointed CPU RNG state makes a resumed run draw the same masks.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from dualrank.data.io import InputError

IGNORE = -100  # the label of positions the MLM loss skips (PyTorch's cross_entropy default)


def maskable(input_ids: Tensor, attention_mask: Tensor, special_ids: Iterable[int]) -> Tensor:
    special = torch.isin(input_ids, torch.as_tensor(sorted(set(special_ids)), dtype=input_ids.dtype,
                                                    device=input_ids.device))
    return attention_mask.bool() & ~special


def _uniform(shape, generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator)


def token_dropout(input_ids: Tensor, attention_mask: Tensor, p: float, special_ids: Iterable[int],
                  mask_id: int, generator: torch.Generator | None = None) -> Tensor:
    """Each maskable token replaced by ``mask_id`` independently with probability ``p``.

    Replacement rather than removal keeps every other token at its position and the
    sequence length unchanged; the model sees that a token was there, not which.
    """
    if not 0.0 <= p < 1.0:
        raise InputError(f"training.token_dropout must be in [0, 1), got {p}")
    drop = maskable(input_ids, attention_mask, special_ids) & (_uniform(input_ids.shape, generator) < p).to(
        input_ids.device)
    return input_ids.masked_fill(drop, mask_id)


def mlm_mask(input_ids: Tensor, attention_mask: Tensor, probability: float, special_ids: Iterable[int],
             mask_id: int, vocab_size: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """BERT's masking (Devlin et al. 2019, §3.1): each maskable token is selected with
    ``probability``; a selected token becomes [MASK] with probability 0.8, a uniformly random
    vocabulary token with 0.1, and stays itself with 0.1.

    Returns (corrupted input ids, labels): labels hold the original id at selected positions
    and ``IGNORE`` elsewhere.
    """
    shape, dev = input_ids.shape, input_ids.device
    selected = maskable(input_ids, attention_mask, special_ids) & (_uniform(shape, generator) < probability).to(dev)
    how = _uniform(shape, generator).to(dev)
    random_ids = torch.randint(vocab_size, shape, generator=generator).to(dev, input_ids.dtype)
    out = torch.where(selected & (how < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    out = torch.where(selected & (how >= 0.8) & (how < 0.9), random_ids, out)
    labels = input_ids.masked_fill(~selected, IGNORE)
    return out, labels


def mask_token_id(tokenizer) -> int:
    """[MASK] if the vocabulary has one, else [UNK]: the token that stands for 'some token'."""
    for tid in (tokenizer.mask_token_id, tokenizer.unk_token_id):
        if tid is not None:
            return tid
    raise InputError(f"tokenizer {type(tokenizer).__name__} has neither a [MASK] nor an [UNK] token "
                     "to replace dropped tokens with")
