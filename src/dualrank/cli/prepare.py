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

import argparse
from dataclasses import fields

from dualrank.cli.logs import entry_point

_MSMARCO_HELP = {
    "collection": "collection.tsv (pid<TAB>text)",
    "queries-train": "queries.train.tsv",
    "queries-dev": "queries.dev.small.tsv (only the queries judged in --qrels-dev are kept)",
    "qrels-dev": "qrels.dev.small.tsv",
    "top1000-dev": "top1000.dev (qid<TAB>pid<TAB>query<TAB>passage): the official candidates",
    "queries-dl19": "msmarco-test2019-queries.tsv(.gz) (only the judged queries are kept)",
    "qrels-dl19": "2019qrels-pass.txt (graded TREC qrels)",
    "top1000-dl19": "msmarco-passagetest2019-top1000.tsv(.gz): the official candidates",
    "out-dir": "directory of the contract tables",
}
_NQ_HELP = {
    "passages": "DPR psgs_w100.tsv(.gz) (header id<TAB>text<TAB>title)",
    "train": "DPR biencoder-nq-train.json(.gz)",
    "dev": "DPR biencoder-nq-dev.json(.gz)",
    "out-dir": "directory of the contract tables",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank prepare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="dataset", required=True)
    m = sub.add_parser("msmarco", help="MS MARCO passage: dev-small and TREC DL 2019")
    for name, text in _MSMARCO_HELP.items():
        m.add_argument(f"--{name}", required=True, help=text)
    n = sub.add_parser("nq", help="Natural Questions as DPR ships it")
    for name, text in _NQ_HELP.items():
        n.add_argument(f"--{name}", required=True, help=text)
    n.add_argument("--hard-negatives", type=int, default=19,
                   help="BM25 hard negatives kept per training question (Appendix B: 19; default 19)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.data import prepare

    a = parser().parse_args(argv)
    if a.dataset == "msmarco":
        files = prepare.MsmarcoFiles(**{f.name: getattr(a, f.name) for f in fields(prepare.MsmarcoFiles)})
        prepare.msmarco(files, a.out_dir)
    else:
        files = prepare.NqFiles(**{f.name: getattr(a, f.name) for f in fields(prepare.NqFiles)})
        prepare.nq(files, a.out_dir, a.hard_negatives)


if __name__ == "__main__":
    main()
