"""Published teacher scores (MS MARCO's T1 triples of Hofstätter et al. 2020) -> scored pairs.

    dualrank teacher-import --scores T1.tsv --out PAIRS.parquet [--triples-out TRIPLES.parquet] \\
        [--corpus corpus.parquet] [--queries queries-train.parquet]

The tab-separated 'pos_score neg_score query_id pos_pid neg_pid' file is streamed into the
pairs contract: every triple gives its negative, a (query, positive) pair its first score;
--triples-out also keeps every line as a triple (the triplet losses' training examples). A
malformed line (a missing field, a non-finite score) and, given --corpus / --queries, an id
they lack are refused with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, PAIRS, QUERIES


@dataclass(frozen=True)
class Args:
    scores: str = option("published scores, tab-separated: pos_score neg_score query_id pos_pid neg_pid")
    out: str = option(PAIRS)
    triples_out: str | None = option("also every line as a triples Parquet "
                                     "(query_id, pos_id, neg_id, pos_score, neg_score), in file order", None)
    corpus: str | None = option(CORPUS + ": every passage id must be one of its doc ids", None)
    queries: str | None = option(QUERIES + ": every query id must be one of its ids", None)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "teacher-import", __doc__)
    from dualrank.pairs.teacher import import_published

    import_published(a.scores, a.out, triples_out=a.triples_out, corpus=a.corpus, queries=a.queries)
    return 0


if __name__ == "__main__":
    main()
