"""BERT's [CLS] output over length-chunked token sequences: the DE's and CA's hot path.

A batch of sequences (a training step's queries and passages, or CA pairs) is sorted by
length and cut into chunks of similar lengths, each padded only to its own longest: at most
a quarter of a chunk is padding (length-sorted encoding batches: almost none), where padding
a training batch of MS MARCO passages to its longest wastes half or more. The chunks lie end
to end in one [T, H] tensor, so the projections and feed-forward layers, nearly all of the
FLOPs, are one matmul each over (almost only) real tokens; attention runs per chunk through
PyTorch's fused scaled_dot_product_attention (SDPA) with a key-padding mask. The DE and the
CA read only the [CLS] vector of the last layer, so that layer computes keys and values for
all tokens but the query, attention output and feed-forward for the [CLS] rows only.

The layers' own modules (the Hugging Face BertModel's weights, dropouts, LayerNorms,
activation) do the work; only the data layout differs, and tests/models/test_packed.py checks the
result against ``BertModel(...).last_hidden_state[:, 0]`` on padded input, values and
gradients. ColBERT needs every token's output and keeps the padded path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Packed:
    ids: torch.Tensor        # [T] token ids: chunk after chunk, each [n_c, L_c] row-major
    types: torch.Tensor      # [T] token type (segment) ids
    pos: torch.Tensor        # [T] position within the sequence
    first: torch.Tensor      # [N] row of each sequence's [CLS] token
    chunks: list             # (first row, n_c, L_c, key mask [n_c, 1, 1, L_c]) per chunk
    unsort: torch.Tensor     # [N] chunk-order position of input sequence i


def supported(config) -> bool:
    """Absolute positions and an encoder-only BERT, what the packed path implements."""
    return getattr(config, "position_embedding_type", "absolute") == "absolute" and not config.is_decoder


# Padded slots per attention chunk. Fewer, larger chunks mean fewer kernel launches (a GPU) and
# fewer thread barriers (a busy CPU); tighter ones less padding. Measured on 2 CPU cores, steps
# cost the same from 4096 slots and 10 % waste to one chunk; these settings sit in between.
CHUNK_TOKENS = {"cpu": 16384, "cuda": 1 << 16}
MAX_WASTE = 0.25  # a chunk closes before its padding would exceed this share of its slots


def chunking(lengths: np.ndarray, chunk_tokens: int, max_waste: float = MAX_WASTE) -> list[tuple[int, int]]:
    """(first sequence, count) of each chunk of length-descending ``lengths``: a chunk grows while
    it fits ``chunk_tokens`` slots of its longest and wastes at most ``max_waste`` on padding."""
    out, s, n_seq = [], 0, len(lengths)
    while s < n_seq:
        longest, n, real = int(lengths[s]), 1, int(lengths[s])
        while s + n < n_seq and (n + 1) * longest <= max(chunk_tokens, longest) \
                and real + lengths[s + n] >= (1 - max_waste) * (n + 1) * longest:
            real += int(lengths[s + n])
            n += 1
        out.append((s, n))
        s += n
    return out


def pack(first: list, cls_id: int, sep_id: int, device: torch.device, second: list | None = None,
         chunk_tokens: int | None = None, pad_id: int = 0) -> Packed:
    """[CLS] a [SEP] (b [SEP]) for each sequence a of ``first`` (and b of ``second``), token type
    1 on the b part, sorted by length and laid out in nearly-full padded chunks."""
    chunk_tokens = chunk_tokens or CHUNK_TOKENS.get(device.type, CHUNK_TOKENS["cuda"])
    segs = []
    for i, a in enumerate(first):
        parts = [[cls_id], np.asarray(a, np.int64), [sep_id]]
        n_types = [len(a) + 2]
        if second is not None:
            b = np.asarray(second[i], np.int64)
            parts += [b, [sep_id]]
            n_types.append(len(b) + 1)
        segs.append((np.concatenate(parts).astype(np.int64), n_types))
    lengths = np.array([len(s[0]) for s in segs], np.int64)
    order = np.argsort(-lengths, kind="stable")
    ids, types, pos, firsts, chunks, row = [], [], [], [], [], 0
    for s, n in chunking(lengths[order], chunk_tokens):
        width = int(lengths[order[s]])
        block_ids = np.full((n, width), pad_id, np.int64)
        block_types = np.zeros((n, width), np.int64)
        for r, i in enumerate(order[s:s + n]):
            seq, n_types = segs[i]
            block_ids[r, : len(seq)] = seq
            if len(n_types) == 2:
                block_types[r, n_types[0]: len(seq)] = 1
        ids.append(block_ids.ravel())
        types.append(block_types.ravel())
        pos.append(np.tile(np.arange(width), n))
        mask = torch.arange(width)[None, :] < torch.as_tensor(lengths[order[s:s + n]])[:, None]
        firsts.append(row + width * np.arange(n))
        chunks.append((row, n, width, mask[:, None, None, :]))
        row += n * width
    to = (lambda a: torch.from_numpy(a).pin_memory().to(device, non_blocking=True)) if device.type == "cuda" \
        else torch.from_numpy
    unsort = np.empty_like(order)
    unsort[order] = np.arange(len(order))
    return Packed(to(np.concatenate(ids)), to(np.concatenate(types)), to(np.concatenate(pos)),
                  to(np.concatenate(firsts)), [(r, n, w, m.to(device)) for r, n, w, m in chunks], to(unsort))


def _attention(self_attn, x: torch.Tensor, p: Packed, cls_only: bool) -> torch.Tensor:
    """Multi-head self-attention over the chunked tokens x [T, H]: [T, H] or, with ``cls_only``,
    [N, H] for the [CLS] rows only (chunk order)."""
    heads, d = self_attn.num_attention_heads, self_attn.attention_head_size
    q_lin, k_lin, v_lin = self_attn.query, self_attn.key, self_attn.value
    drop = self_attn.dropout.p if self_attn.training else 0.0
    if cls_only:
        kv = F.linear(x, torch.cat([k_lin.weight, v_lin.weight]), torch.cat([k_lin.bias, v_lin.bias]))
        q_cls = q_lin(x[p.first])
    else:
        qkv = F.linear(x, torch.cat([q_lin.weight, k_lin.weight, v_lin.weight]),
                       torch.cat([q_lin.bias, k_lin.bias, v_lin.bias]))
    # split, not slicing: a slice's backward writes a zero tensor of the whole input per chunk.
    sizes = [n * width for _, n, width, _ in p.chunks]
    blocks = (kv if cls_only else qkv).split(sizes)
    queries = q_cls.split([n for _, n, _, _ in p.chunks]) if cls_only else blocks
    out = []
    for (_, n, width, mask), block, q_block in zip(p.chunks, blocks, queries):
        if cls_only:
            k, v = block.view(n, width, 2, heads, d).permute(2, 0, 3, 1, 4)
            q = q_block.view(n, 1, heads, d).transpose(1, 2)
        else:
            q, k, v = block.view(n, width, 3, heads, d).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        out.append(o.transpose(1, 2).reshape(-1, heads * d))
    return torch.cat(out) if len(out) > 1 else out[0]


def cls_states(bert, p: Packed) -> torch.Tensor:
    """The last layer's [CLS] vectors [N, H] of a Hugging Face BertModel, in input order."""
    emb = bert.embeddings
    x = emb.word_embeddings(p.ids) + emb.token_type_embeddings(p.types) + emb.position_embeddings(p.pos)
    x = emb.dropout(emb.LayerNorm(x))
    layers = bert.encoder.layer
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        a = _attention(layer.attention.self, x, p, cls_only=last)
        a = layer.attention.output(a, x[p.first] if last else x)  # dense, dropout, LayerNorm(+ residual)
        x = layer.output(layer.intermediate(a), a)
    return x[p.unsort]
