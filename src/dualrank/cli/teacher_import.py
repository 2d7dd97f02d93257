"""Published teacher scores (MS MARCO's T1 triples of Hofstätter et al. 2020) -> scored pairs.

    dualrank teacher-import --scores T1.tsv --out PAIRS.parquet

The tab-separated 'pos_score neg_score query_id pos_pid neg_pid' file is streamed into the
pairs contract: every triple gives its negative, a (query, positive) pair its first score.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import PAIRS


@dataclass(frozen=True)
class Args:
    scores: str = option("published scores, tab-separated: pos_score neg_score query_id pos_pid neg_pid")
    out: str = option(PAIRS)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "teacher-import", __doc__)
    from dualrank.pairs.teacher import import_published

    import_published(a.scores, a.out)
    return 0


if __name__ == "__main__":
    main()
