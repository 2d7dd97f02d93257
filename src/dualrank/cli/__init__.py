"""The ``dualrank`` command line: one thin module per stage command.

``dualrank COMMAND ARGS`` and ``python -m dualrank.cli.COMMAND ARGS`` run the same code. Each
module declares its flags as a frozen dataclass ``Args`` (or takes the library's own, such as
:class:`dualrank.spec.TrainJob`), parses them with :func:`dualrank.cli.args.parse`, calls the
library, and turns an :class:`~dualrank.data.io.InputError` into one line on stderr and exit
code 2 (no traceback); flags several commands share are declared in :mod:`dualrank.cli.shared`.
The Snakemake rules of ``workflow/rules`` call these commands and nothing else; to run a whole
result, ask Snakemake for its target (``snakemake --cores 2 -- results/table1.csv``).
"""

from __future__ import annotations

import importlib
import sys

#: command -> (module under dualrank.cli, one line of help), in pipeline order.
COMMANDS: dict[str, str] = {
    "download": "fetch one upstream file, resumably, checked against its md5",
    "extract": "one member of a downloaded archive (or a decompressed .gz) to a file",
    "prepare": "MS MARCO or NQ upstream files -> the Parquet contract tables",
    "synthetic": "the demo's synthetic dataset as Parquet contract tables",
    "convert": "one upstream text file (TSV, TREC qrels/run) -> one Parquet contract table",
    "tokenizer": "train the WordPiece vocabulary of the from-scratch demo encoders",
    "pretrain": "inverse-cloze pre-training of a from-scratch demo encoder on its corpus",
    "bm25-index": "a Lucene index of a corpus table (pyserini)",
    "bm25-search": "BM25 top-k per query into a run table",
    "sample-queries": "a seeded sample of a split's judged queries (the train-eval split)",
    "candidates": "training pairs, or NQ's dev mix of BM25 and random negatives, from a BM25 run",
    "teacher-import": "published teacher scores (MS MARCO's T1 triples) -> scored pairs and triples",
    "teacher-score": "score the training pairs with a trained CA teacher",
    "aggregate": "scored pairs -> each query's top-K training group, or one group per triple",
    "train": "train one model of the grid (CA, DE or ColBERT, any loss)",
    "index": "a FAISS index of a corpus encoded by a trained DE",
    "evaluate": "re-rank and retrieval evaluation of a trained model (or of BM25's candidates)",
    "metrics": "MRR@10 and nDCG@10 of any run file against qrels (JSON on stdout)",
    "per-query": "per-query RR@10 and nDCG@10 of a run's evaluations (for the paired tests)",
    "table1": "render Table 1 from its runs' metrics",
    "render": "render one of Tables 2-12 or Figures 1-8",
    "claims": "the paper's claims, each with a verdict, and paper-versus-measured per cell",
    "demo-account": "the README's account of the demo, generated from a finished demo's tables",
    "gpu": "run a command on exactly the GPUs its Snakemake job was given",
    "plan": "a target's jobs, disk, memory and GPU-hours from a dry run, before it runs",
}


def module_of(command: str) -> str:
    return f"dualrank.cli.{command.replace('-', '_')}"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        "usage: dualrank COMMAND [ARGS]   (dualrank COMMAND --help for a command's flags)",
        "",
        "The stage commands of the dualrank pipeline (Menon et al., ICML 2022, 'In defense of",
        "dual-encoders for neural ranking'). Snakemake runs them for a result, its target:",
        "  snakemake --cores 2 --configfile=workflow/presets/demo.yaml -- results/table1.csv",
        "Targets (README.md, 'Every table and figure'): results/table1.csv ... results/table12.csv,",
        "results/figure1.png ... results/figure8.png, results/all (every one); `snakemake --report",
        "results/report.html -- results/all` gathers them in one page. Run one command by hand to",
        "redo or inspect a single step (the exact command line of each job: `snakemake -n -p`).",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int | None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"dualrank: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return importlib.import_module(module_of(name)).main(rest)


if __name__ == "__main__":
    sys.exit(main())
