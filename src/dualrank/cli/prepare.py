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

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.data import prepare
from dualrank.data.splits import Sample

OUT_DIR = "directory of the contract tables"
VALID_QUERIES = "judged queries in the held-out valid split (early stopping's)"
VALID_SEED = "seed of the valid split's sample"


@dataclass(frozen=True)
class Msmarco(prepare.MsmarcoFiles):
    """MS MARCO passage: dev-small and TREC DL 2019"""

    out_dir: str = option(OUT_DIR)
    valid_queries: int = option(VALID_QUERIES)
    valid_seed: int = option(VALID_SEED)


@dataclass(frozen=True)
class Nq(prepare.NqFiles):
    """Natural Questions as DPR ships it"""

    out_dir: str = option(OUT_DIR)
    valid_queries: int = option(VALID_QUERIES)
    valid_seed: int = option(VALID_SEED)
    hard_negatives: int = option("BM25 hard negatives kept per training question (Appendix B: 19)", 19)


@entry_point
def main(argv: list[str] | None = None) -> None:
    dataset, a = parse({"msmarco": Msmarco, "nq": Nq}, argv, "prepare", __doc__)
    valid = Sample(a.valid_queries, a.valid_seed)
    if dataset == "msmarco":
        prepare.msmarco(a, a.out_dir, valid)
    else:
        prepare.nq(a, a.out_dir, a.hard_negatives, valid)


if __name__ == "__main__":
    main()
