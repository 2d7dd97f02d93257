"""The demo's synthetic dataset as Parquet contract tables.

    dualrank synthetic --flavour msmarco|nq --seed N --out-dir DIR [--n-entities N ...] [--with-meta]

Writes ``corpus.parquet``, ``queries-{split}.parquet`` and ``qrels-{split}.parquet`` (splits
train, valid, dev, and dl19 for msmarco) of a seeded synthetic world in which the paper's
CA/DE phenomenon exists (:mod:`dualrank.data.synthetic`); the same seed and sizes give the
same bytes. ``--with-meta`` adds the structured truth behind each passage and query.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, make_dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.data import synthetic


@dataclass(frozen=True)
class Args:
    out_dir: str = option("directory of the tables")
    flavour: str = option("msmarco (keyword and question queries, with dl19) or nq (questions, titled passages)",
                          "msmarco", choices=sorted(synthetic.FLAVOURS))
    seed: int = option("the seed of every random draw", 0)
    with_meta: bool = option("also write meta-passages.parquet and meta-queries.parquet (analyses)", False)


#: The world's sizes, one flag each (--n-entities ...), declared once in synthetic.SIZES.
Sizes = make_dataclass("Sizes", [(name, type(default), option(meaning, default))
                                 for name, (default, meaning) in synthetic.SIZES.items()], frozen=True)


@entry_point
def main(argv: list[str] | None = None) -> None:
    a, sizes = parse((Args, Sizes), argv, "synthetic", __doc__)
    tables = synthetic.generate(a.flavour, a.seed, with_meta=a.with_meta, **asdict(sizes))
    paths = synthetic.write(tables, a.out_dir)
    if a.with_meta:
        paths += synthetic.write_meta(tables, a.out_dir)
    logging.getLogger("dualrank.synthetic").info(
        "%s seed %d: wrote %d tables to %s (%s)", a.flavour, a.seed, len(paths), a.out_dir,
        ", ".join(f"{n} {len(t)}" for n, t in tables.items()))


if __name__ == "__main__":
    main()
