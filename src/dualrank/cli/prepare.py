"""MS MARCO or NQ upstream files -> the Parquet contract tables under one directory.

    dualrank prepare msmarco --collection collection.tsv \\
        --queries-train queries.train.tsv --queries-dev queries.dev.tsv \\
        --qrels-dev qrels.dev.small.tsv --top1000-dev top1000.dev \\
        --queries-dl19 msmarco-test2019-queries.tsv --qrels-dl19 2019qrels-pass.txt \\
        --top1000-dl19 msmarco-passagetest2019-top1000.tsv --queries-dev-all queries.dev.tsv \\
        --qrels-dev-all qrels.dev.tsv --qrels-train qrels.train.tsv \\
        --valid-queries 500 --valid-seed 0 --out-dir data/msmarco
    dualrank prepare nq --passages psgs_w100.tsv --train biencoder-nq-train.json \\
        --dev biencoder-nq-dev.json --hard-negatives 19 --valid-queries 500 --valid-seed 0 \\
        --out-dir data/nq

Writes ``corpus``, ``queries-{split}``, ``qrels-{split}`` and ``official-{split}`` (the
official candidates) tables, the held-out ``valid`` split, ``qrels-train``, and NQ's
``train-pairs`` (what each table holds: :mod:`dualrank.data.prepare`).
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from dualrank.cli.logs import entry_point
from dualrank.data import prepare
from dualrank.data.splits import Sample


def _add_files(p: argparse.ArgumentParser, files) -> None:
    """A required flag per field of the dataclass ``files`` (--queries-dev for queries_dev)."""
    for f in fields(files):
        p.add_argument("--" + f.name.replace("_", "-"), required=True, help=f.metadata["help"])
    p.add_argument("--valid-queries", type=int, required=True,
                   help="judged queries in the held-out valid split (early stopping's)")
    p.add_argument("--valid-seed", type=int, required=True, help="seed of the valid split's sample")
    p.add_argument("--out-dir", required=True, help="directory of the contract tables")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank prepare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="dataset", required=True)
    _add_files(sub.add_parser("msmarco", help="MS MARCO passage: dev-small and TREC DL 2019"), prepare.MsmarcoFiles)
    n = sub.add_parser("nq", help="Natural Questions as DPR ships it")
    _add_files(n, prepare.NqFiles)
    n.add_argument("--hard-negatives", type=int, default=19,
                   help="BM25 hard negatives kept per training question (Appendix B: 19; default 19)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parser().parse_args(argv)
    kind = prepare.MsmarcoFiles if a.dataset == "msmarco" else prepare.NqFiles
    files = kind(**{f.name: getattr(a, f.name) for f in fields(kind)})
    valid = Sample(a.valid_queries, a.valid_seed)
    if a.dataset == "msmarco":
        prepare.msmarco(files, a.out_dir, valid)
    else:
        prepare.nq(files, a.out_dir, a.hard_negatives, valid)


if __name__ == "__main__":
    main()
