"""The machine's matmul peak and the model FLOPs of an encoder step, counted analytically.

Model FLOPs of one BERT pass over a sequence of n real (non-padding) tokens, special tokens
included, for L layers of width H and feed-forward width F:

    forward  = 2 * P * n + 4 * L * H * n^2,    P = L * (4 H^2 + 2 H F)

P is the non-embedding matmul parameters (Q, K, V, output projections and the two FFN
matrices); each multiply-add is 2 FLOPs; the attention term counts Q K^T and (softmax) V,
2 n^2 H each per layer. Training costs 3x the forward (the backward is two matmuls per
forward matmul): 6 P n + 12 L H n^2. Embedding look-ups, LayerNorm, GELU, softmax, biases and
the [CLS] head are left out (under 2 % here). The count is the same for every implementation
of the model: padding, recomputation or work an implementation can skip (dualrank's last layer
computes only the [CLS] row) do not change it, so model FLOP/s is proportional to useful
throughput and MFU = model FLOP/s / measured matmul peak. Because dualrank skips most of the
last layer, its MFU by this count can exceed what the hardware executes; the benchmark also
prints the executed FLOP/s (:func:`executed_training_flops`) as the honest gap to the peak.
"""

from __future__ import annotations

import time

import torch


def matmul_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> float:
    """Best sustained FLOP/s of square matmuls (sizes 1024-4096) in ``dtype`` on ``device``."""
    best = 0.0
    for n in (1024, 2048, 4096):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        sync(device)
        t0, reps = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            for _ in range(4 if device.type == "cuda" else 1):
                a @ b
                reps += 1
            sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0))
    return best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def forward_flops(shape: dict, lengths) -> float:
    """Model FLOPs of one forward over sequences of the given real lengths (see module doc)."""
    h, f, layers = shape["hidden"], shape["intermediate"], shape["layers"]
    params = layers * (4 * h * h + 2 * h * f)
    n = torch.as_tensor(list(lengths), dtype=torch.float64)
    return float(2 * params * n.sum() + 4 * layers * h * (n**2).sum())


def training_flops(shape: dict, lengths) -> float:
    return 3 * forward_flops(shape, lengths)


def executed_training_flops(shape: dict, lengths) -> float:
    """What dualrank's [CLS] path executes of the above: the last layer's keys and values for
    every token, the rest of that layer for the [CLS] row only (padding left out)."""
    h, f, layers = shape["hidden"], shape["intermediate"], shape["layers"]
    n = torch.as_tensor(list(lengths), dtype=torch.float64)
    below = forward_flops({**shape, "layers": layers - 1}, lengths) if layers > 1 else 0.0
    last = 2 * (2 * h * h) * n.sum() + len(n) * 2 * (2 * h * h + 2 * h * f) + 4 * h * n.sum()
    return 3 * float(below + last)
