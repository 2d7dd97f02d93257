"""``python -m tools.bench``: dualrank's hot paths against the tools researchers use.

    python -m tools.bench [--target results/all] [--steps 4] [--batch 8] [--k 8] ...

Prints one table: for each figure ours, the baseline and the ratio, with the issue's target.

- DE distillation training (query groups/s, K passages each) vs sentence-transformers
  MarginMSELoss on the same BERT, batch, lengths and optimizer (:mod:`.neural`);
- corpus encoding (passages/s) vs ``SentenceTransformer.encode``;
- CA scoring (pairs/s) vs ``CrossEncoder.predict``;
- FAISS search (queries/s, recall@100 vs exact) for each offered index type (:mod:`.search`);
- ``snakemake -n TARGET`` wall time and job count under config.yaml (:mod:`.dag`);
- the matmul peak and the training step's model FLOP/s, i.e. MFU (:mod:`.flops`).

On a CPU it runs a 2-layer, 256-wide BERT in fp32 (a few minutes on 2 cores); on CUDA the
paper's bert-6-768 shape (random init, no hub) in bf16 autocast, both sides alike.
Needs the ``bench`` extra (sentence-transformers); run it from the repository root.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import tempfile
import time
from pathlib import Path

import torch

from dualrank.text import cache as tokens
from tools.bench import dag, fixtures, flops, neural, search

log = logging.getLogger("tools.bench")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", default="results/all", help="snakemake -n target (default results/all; "
                   "falls back to --fallback-target if the workflow does not know it)")
    p.add_argument("--fallback-target", default="results/table1.csv")
    p.add_argument("--steps", type=int, default=4, help="timed training steps per side (after 1 warm-up)")
    p.add_argument("--batch", type=int, help="training groups per step (CPU 8, CUDA 64)")
    p.add_argument("--k", type=int, default=8, help="passages per query in training")
    p.add_argument("--lengths", type=int, nargs=2, default=[30, 200], metavar=("QUERY", "PASSAGE"))
    p.add_argument("--encode", type=int, help="passages to encode (default: all; fewer make sorted batches coarse)")
    p.add_argument("--pairs", type=int, help="CA pairs to score (CPU 2000, CUDA 20000)")
    p.add_argument("--repeats", type=int, default=2, help="timed encoding/scoring passes per side")
    p.add_argument("--eval-batch", type=int, default=128, help="encoding and scoring batch size, both sides")
    p.add_argument("--faiss-n", type=int, help="vectors in the FAISS benchmark (CPU 50k, CUDA 200k)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available")
    p.add_argument("--skip", nargs="*", default=[], choices=["train", "encode", "ca", "faiss", "dag"])
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def quiet_hf() -> None:
    """No per-load reports or progress bars from transformers and sentence-transformers."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def defaults(a, cuda: bool):
    for key, cpu, gpu in (("batch", 8, 64), ("encode", 10**9, 10**9), ("pairs", 2000, 20000),
                          ("faiss_n", 50000, 200000)):
        if getattr(a, key) is None:
            setattr(a, key, gpu if cuda else cpu)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, figure, ours, base, unit="", target="", fmt="{:,.1f}"):
        ratio = f"{ours / base:.2f}x" if isinstance(ours, float) and isinstance(base, float) and base else ""
        cell = [fmt.format(v) if isinstance(v, float) else str(v) for v in (ours, base)]
        self.rows.append((figure, cell[0], cell[1], ratio, target, unit))
        print(f"  .. {figure}: ours {cell[0]}, baseline {cell[1]} {ratio} {unit}", flush=True)

    def compare(self, figure, count: int, t: dict, unit: str, target=">= 1.5x"):
        """A throughput row (count per second of wall time), the CPU-time ratio in the note."""
        (w_ours, c_ours), (w_base, c_base) = t["ours"], t["st"]
        self.add(figure, count / w_ours, count / w_base, target=target,
                 unit=f"{unit}; CPU-time ratio {c_base / c_ours:.2f}x")

    def print(self, header: list[str]):
        cols = ("figure", "ours", "baseline", "ratio", "target", "unit / note")
        w = [max(len(r[i]) for r in [cols, *self.rows]) for i in range(len(cols))]
        line = "  ".join(f"{{:{'<' if i in (0, 5) else '>'}{w[i]}}}" for i in range(len(cols)))
        print("\n" + "\n".join(header))
        print(line.format(*cols).rstrip())
        print("  ".join("-" * x for x in w))
        for r in self.rows:
            print(line.format(*r).rstrip())


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    logging.basicConfig(level=logging.WARNING)
    quiet_hf()
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = device.type == "cuda"
    defaults(a, cuda)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    shape, bf16 = fixtures.SHAPES[device.type], cuda
    lq, lp = a.lengths
    table, t_start = Table(), time.time()
    with tempfile.TemporaryDirectory(prefix="dualrank-bench-") as tmp:
        work = Path(tmp)
        texts = fixtures.load_texts(a.seed)
        tok = fixtures.make_tokenizer(texts, work)
        peak = flops.matmul_peak(device, torch.bfloat16 if bf16 else torch.float32)
        if "train" not in a.skip:
            train(a, table, texts, tok, shape, device, bf16, peak, work)
        if "encode" not in a.skip or "ca" not in a.skip:
            infer(a, table, texts, tok, shape, device, bf16, work)
        if "faiss" not in a.skip:
            rows = search.run(a.faiss_n, 1000, shape["hidden"])
            for r in rows:  # the baseline of each is exact search, the first row
                table.add(f"FAISS {r['name']}, QPS", r["qps"], rows[0]["qps"], fmt="{:,.0f}",
                          unit=f"recall@100 {r['recall']:.3f}, build {r['build_s']:.1f} s "
                               f"({a.faiss_n:,} x {shape['hidden']})")
        if "dag" not in a.skip:
            dry_runs(a, table, work)
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in
                         ("torch", "transformers", "sentence-transformers", "faiss-cpu"))
    where = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} torch threads"
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    table.print([
        f"dualrank speed benchmark ({time.time() - t_start:.0f} s) on {where} ({os.cpu_count()} cores, {load})",
        f"model: {fixtures.SHAPE_NAMES[device.type]}, random init, {'bf16 autocast' if bf16 else 'fp32'}; "
        f"lengths {lq}/{lp}; training batch {a.batch} x K={a.k}, AdamW; eval batch {a.eval_batch}",
        f"data: {texts.source}",
        f"baseline: sentence-transformers (same model, batch, lengths, precision); {versions}",
    ])
    return 0


def train(a, table, texts, tok, shape, device, bf16, peak, work):
    lq, lp = a.lengths
    model = fixtures.our_model("de", shape, tok, (lq, lp), a.seed)
    st = fixtures.st_bi_encoder(model, work, lp, str(device))
    batches = fixtures.sample_groups(texts, a.steps + 1, a.batch, a.k, a.seed)
    lengths = token_lengths(model.tokenizer, batches[1:], lq, lp)
    model_flops = flops.training_flops(shape, lengths) / a.steps
    corpus, queries = fixtures.write_tables(texts, work)
    t0 = time.perf_counter()
    for path, kind in ((corpus, "corpus"), (queries, "queries")):
        tokens.for_model(path, kind, model)
    build = time.perf_counter() - t0
    table.add("token cache build (once per table x tokenizer x length), rows/s",
              (len(texts.passages) + len(texts.queries)) / build, "",
              unit=f"{len(texts.passages):,} passages + {len(texts.queries):,} queries in {build:.1f} s")
    t = neural.interleaved_steps({"ours": neural.train_ours(model, batches, device, bf16, corpus, queries),
                                  "st": neural.train_st(st, batches, device, bf16)}, len(batches), device)
    s_ours, s_st = t["ours"][0], t["st"][0]
    table.compare(f"DE distillation training, groups/s (K={a.k})", a.batch, t, "baseline: MarginMSELoss step")
    table.add("matmul peak, GFLOP/s", peak / 1e9, "", unit=f"{'bf16' if bf16 else 'fp32'} square matmul",
              fmt="{:,.0f}")
    executed = flops.executed_training_flops(shape, lengths) / a.steps
    for name, s in (("ours", s_ours), ("baseline", s_st)):
        rate = model_flops / s
        note = f"MFU {100 * rate / peak:.1f} % ({model_flops / 1e9:,.0f} GFLOP/step)"
        if name == "ours":
            note += (f"; executed {executed / s / 1e9:,.0f} GFLOP/s = {100 * executed / s / peak:.0f} % of peak "
                     "(last layer at [CLS] only)")
        table.add(f"training model GFLOP/s, {name}", rate / 1e9, "", fmt="{:,.1f}", unit=note)


def token_lengths(tokenizer, batches, lq, lp):
    """Real token counts ([CLS] and [SEP] included) of every sequence the steps encode."""
    out = []
    for b in batches:
        out += [len(x) for x in tokenizer(b.queries, truncation=True, max_length=lq)["input_ids"]]
        docs = [x for g in b.docs for x in g]
        out += [len(x) for x in tokenizer(docs, truncation=True, max_length=lp)["input_ids"]]
    return out


def infer(a, table, texts, tok, shape, device, bf16, work):
    lq, lp = a.lengths
    passages = texts.passages[: a.encode]
    corpus, queries = fixtures.write_tables(texts, work, len(passages))
    if "encode" not in a.skip:
        de = fixtures.our_model("de", shape, tok, (lq, lp), a.seed)
        st = fixtures.st_bi_encoder(de, work, lp, str(device))
        t = neural.interleaved_passes({"ours": neural.encode_ours(de, corpus, len(passages), a.eval_batch,
                                                                  device, bf16),
                                       "st": neural.encode_st(st, passages, a.eval_batch, device, bf16)},
                                      a.repeats, device)
        table.compare(f"corpus encoding, passages/s ({len(passages):,})", len(passages), t,
                      "baseline: SentenceTransformer.encode")
        del de, st
    if "ca" not in a.skip:
        ca = fixtures.our_model("ca", shape, tok, (lq, lp), a.seed)
        ce = fixtures.st_cross_encoder(ca, work, lq + lp + 3, str(device))
        depth = 20
        cands = neural.ca_candidates(max(1, a.pairs // depth), depth, len(passages), a.seed)
        q_text = {f"q{i}": texts.queries[i] for i in range(cands["query_id"].nunique())}
        d_text = {f"d{j}": t for j, t in enumerate(passages)}
        t = neural.interleaved_passes({
            "ours": neural.score_ours(ca, cands, corpus, queries, a.eval_batch, device, bf16),
            "st": neural.score_st(ce, cands, q_text, d_text, a.eval_batch, device, bf16)}, a.repeats, device)
        table.compare(f"CA scoring, pairs/s ({len(cands):,})", len(cands), t, "baseline: CrossEncoder.predict")


def dry_runs(a, table, work):
    r, skipped = dag.measure([a.target, a.fallback_target], Path.cwd())
    for s in skipped:
        print(f"  .. {s.note}; measuring {a.fallback_target} instead", flush=True)
    if r.seconds is None:
        table.add(f"snakemake -n {r.target}", "n/a", "", unit=r.note)
        return
    note = f"{r.jobs} jobs, config.yaml" + (f"; {a.target} unknown to the workflow" if skipped else "")
    table.add(f"snakemake -n {r.target}, s", r.seconds, "", target="<= 5 s", unit=note, fmt="{:.2f}")
    probe = dag.slurm_probe()
    if probe is not None and probe > 1:
        r2, _ = dag.measure([r.target], Path.cwd(), env=dag.without_slurm_probe(work))
        table.add(f"snakemake -n {r.target}, s, no SLURM probe", r2.seconds, "", target="<= 5 s", fmt="{:.2f}",
                  unit=f"the SLURM plugin's `scontrol show config` took {probe:.1f} s (no slurmctld answering)")
