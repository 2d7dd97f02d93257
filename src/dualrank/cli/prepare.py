"""MS MARCO or NQ upstream files -> the Parquet contract tables under one directory.

    dualrank prepare msmarco --collection collection.tsv \\
        --queries-train queries.train.tsv --queries-dev queries.dev.tsv \\
        --qrels-dev qrels.dev.small.tsv --top1000-dev top1000.dev \\
        --queries-dl19 msmarco-test2019-queries.tsv --qrels-dl19 2019qrels-pass.txt \\
        --top1000-dl19 msmarco-passagetest2019-top1000.tsv --out-dir data/msmarco
    dualrank prepare nq --passages psgs_w100.tsv --train biencoder-nq-train.json \\
        --dev biencoder-nq-dev.json --hard-negatives 19 --out-dir data/nq

Writes ``corpus``, ``queries-{split}``, ``qrels-{split}`` and ``official-{split}`` (the
official candidates) tables, and NQ's ``train-pairs`` (what each table holds:
:mod:`dualrank.data.prepare`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.data import prepare

OUT_DIR = "directory of the contract tables"


@dataclass(frozen=True)
class Msmarco(prepare.MsmarcoFiles):
    """MS MARCO passage: dev-small and TREC DL 2019"""

    out_dir: str = option(OUT_DIR)


@dataclass(frozen=True)
class Nq(prepare.NqFiles):
    """Natural Questions as DPR ships it"""

    out_dir: str = option(OUT_DIR)
    hard_negatives: int = option("BM25 hard negatives kept per training question (Appendix B: 19)", 19)


@entry_point
def main(argv: list[str] | None = None) -> None:
    dataset, a = parse({"msmarco": Msmarco, "nq": Nq}, argv, "prepare", __doc__)
    if dataset == "msmarco":
        prepare.msmarco(a, a.out_dir)
    else:
        prepare.nq(a, a.out_dir, a.hard_negatives)


if __name__ == "__main__":
    main()
