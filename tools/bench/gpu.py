"""The GPU check: ``python -m tools.bench gpu [--steps 20] [--toy]``.

On a CUDA device, at the paper's shape (bert-6-768 DE, batch 128 x K = 20, lengths 30/200,
bf16 autocast): DE training steps (the Trainer's step: score_groups, margin MSE, AdamW) with
groups/s, model FLOP/s and MFU against the device's measured bf16 matmul peak (and against
config ``plan``'s assumed peak x MFU), peak GPU memory; corpus encoding passages/s (the
retrieval stage's encoding); CA scoring pairs/s; the packed [CLS] forward against Hugging
Face's padded one on the device (max abs difference, fp32 and bf16); the margin MSE loss after
a few steps in bf16 against the same steps in fp32. On a CPU (or with ``--toy``) the same code
runs at toy sizes: the test suite's smoke test. Two-process DDP is not measured here.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import time
from pathlib import Path

import torch

from tools.bench import fixtures, flops, neural

TOY = {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m tools.bench gpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--toy", action="store_true", help="toy sizes even on a GPU (the default on a CPU)")
    p.add_argument("--steps", type=int, default=None, help="timed training steps (default 20; toy 3)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def sizes(toy: bool) -> dict:
    if toy:
        return {"shape": TOY, "batch": 4, "k": 3, "lengths": (12, 32), "steps": 3, "encode": 64, "pairs": 40,
                "eval_batch": 16}
    return {"shape": fixtures.SHAPES["cuda"], "batch": 128, "k": 20, "lengths": (30, 200), "steps": 20,
            "encode": 4000, "pairs": 4000, "eval_batch": 256}


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the process's, on a CPU


def timed(fn, device) -> float:
    flops.sync(device)
    t0 = time.perf_counter()
    fn()
    flops.sync(device)
    return time.perf_counter() - t0


def training(s, texts, tok, device, bf16, work, corpus, queries) -> dict:
    from tools.bench.speed import token_lengths

    lq, lp = s["lengths"]
    model = fixtures.our_model("de", s["shape"], tok, (lq, lp), 0)
    batches = fixtures.sample_groups(texts, s["steps"] + 1, s["batch"], s["k"], 0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    step = neural.train_ours(model, batches, device, bf16, corpus, queries)
    step(0)  # warm-up
    seconds = timed(lambda: [step(i) for i in range(1, len(batches))], device) / s["steps"]
    model_flops = flops.training_flops(s["shape"], token_lengths(model.tokenizer, batches[1:], lq, lp)) / s["steps"]
    return {"groups_s": s["batch"] / seconds, "flops_s": model_flops / seconds, "step_flops": model_flops,
            "peak_mb": peak_memory_mb(device)}


def losses(s, texts, tok, device, corpus, queries, steps: int = 5) -> dict:
    """The loss of each of ``steps`` steps from the same initialisation on the same batches,
    in bf16 autocast and in fp32."""
    out = {}
    batches = fixtures.sample_groups(texts, steps, s["batch"], s["k"], 1)
    for name, bf16 in (("bf16", True), ("fp32", False)):
        model = fixtures.our_model("de", s["shape"], tok, s["lengths"], 0)
        if not bf16:  # the model's own bf16 autocast on CUDA, off
            model.autocast = contextlib.nullcontext
        step = neural.train_ours(model, batches, device, bf16, corpus, queries)
        torch.manual_seed(0)  # the same dropout masks
        out[name] = [float(step(i)) for i in range(steps)]
    return out


@torch.inference_mode()
def packed_vs_padded(s, texts, tok, device) -> dict:
    """Max |packed - padded| of the backbone's [CLS] states for a batch of real passages."""
    from dualrank.models import packed

    model = fixtures.our_model("de", s["shape"], tok, s["lengths"], 0).to(device).eval()
    seqs = model.token_ids(texts.passages[: s["eval_batch"]], model.doc_token_length)
    out = {}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        ctx = torch.autocast(device.type, dtype=dtype) if dtype else torch.autocast(device.type, enabled=False)
        with ctx:
            a = packed.cls_states(model.backbone, model.pack(seqs)).float()
            b = model.backbone(**model.padded(seqs)).last_hidden_state[:, 0].float()
        out[name] = float((a - b).abs().max()), float(b.abs().max())
    return out


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    toy = a.toy or device.type != "cuda"
    s = sizes(toy)
    s["steps"] = a.steps or s["steps"]
    bf16 = device.type == "cuda"
    torch.manual_seed(a.seed)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"dualrank GPU check on {where}: {'toy' if toy else 'bert-6-768'} DE {s['shape']}, batch {s['batch']} x "
          f"K={s['k']}, lengths {s['lengths'][0]}/{s['lengths'][1]}, {'bf16 autocast' if bf16 else 'fp32'}")
    with tempfile.TemporaryDirectory(prefix="dualrank-gpu-") as tmp:
        work = Path(tmp)
        texts = fixtures.load_texts(a.seed)
        tok = fixtures.make_tokenizer(texts, work)
        corpus, queries = fixtures.write_tables(texts, work)
        peak = flops.matmul_peak(device, torch.bfloat16 if bf16 else torch.float32, 0.3 if toy else 1.0)
        t = training(s, texts, tok, device, bf16, work, corpus, queries)
        print(f"training: {t['groups_s']:,.1f} groups/s, {t['flops_s'] / 1e9:,.1f} model GFLOP/s "
              f"({t['step_flops'] / 1e9:,.2f} GFLOP/step), MFU {100 * t['flops_s'] / peak:.1f} % of the measured "
              f"matmul peak {peak / 1e9:,.0f} GFLOP/s; peak {'GPU' if bf16 else 'process'} memory "
              f"{t['peak_mb']:,.0f} MB")
        enc_corpus, _ = fixtures.write_tables(texts, work, s["encode"])
        n = min(s["encode"], len(texts.passages))
        de = fixtures.our_model("de", s["shape"], tok, s["lengths"], 0)
        warm, run = neural.encode_ours(de, enc_corpus, n, s["eval_batch"], device, bf16)
        warm()
        print(f"corpus encoding: {n / timed(run, device):,.0f} passages/s ({n:,} passages)")
        ca = fixtures.our_model("ca", s["shape"], tok, s["lengths"], 0)
        depth = 20
        cands = neural.ca_candidates(max(1, s["pairs"] // depth), depth, n, a.seed)
        warm, run = neural.score_ours(ca, cands, enc_corpus, queries, s["eval_batch"], device, bf16)
        warm()
        print(f"CA scoring: {len(cands) / timed(run, device):,.0f} pairs/s ({len(cands):,} pairs)")
        for name, (diff, scale) in packed_vs_padded(s, texts, tok, device).items():
            print(f"packed vs padded [CLS] ({name}): max abs difference {diff:.2e} (largest value {scale:.2f})")
        loss = losses(s, texts, tok, device, corpus, queries)
        print("loss per step, bf16: " + " ".join(f"{x:.4f}" for x in loss["bf16"]))
        print("loss per step, fp32: " + " ".join(f"{x:.4f}" for x in loss["fp32"]))
        gap = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(loss["bf16"], loss["fp32"]))
        print(f"bf16 vs fp32 loss: max relative difference {gap:.2%}")
    return 0
