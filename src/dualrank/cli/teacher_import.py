"""Published teacher scores (MS MARCO's T1 triples of Hofstätter et al. 2020) -> scored pairs.

    dualrank teacher-import --scores T1.tsv --out PAIRS.parquet [--triples-out TRIPLES.parquet]

The tab-separated 'pos_score neg_score query_id pos_pid neg_pid' file is streamed into the
pairs contract: every triple gives its negative, a (query, positive) pair its first score;
--triples-out also keeps every line as a triple (the triplet losses' training examples).
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank teacher-import", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scores", required=True,
                   help="published scores, tab-separated: pos_score neg_score query_id pos_pid neg_pid")
    p.add_argument("--out", required=True, help="pairs Parquet (query_id, doc_id, label, teacher_score)")
    p.add_argument("--triples-out", help="also every line as a triples Parquet "
                   "(query_id, pos_id, neg_id, pos_score, neg_score), in file order")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.pairs.teacher import import_published

    a = parser().parse_args(argv)
    import_published(a.scores, a.out, triples_out=a.triples_out)
    return 0


if __name__ == "__main__":
    main()
