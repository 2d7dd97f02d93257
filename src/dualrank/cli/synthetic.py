"""The demo's synthetic dataset as Parquet contract tables.

    dualrank synthetic --flavour msmarco|nq --seed N --out-dir DIR [--n-entities N ...] [--with-meta]

Writes ``corpus.parquet``, ``queries-{split}.parquet`` and ``qrels-{split}.parquet`` (splits
train, valid, dev, and dl19 for msmarco) of a seeded synthetic world in which the paper's
CA/DE phenomenon exists (:mod:`dualrank.data.synthetic`); the same seed and sizes give the
same bytes. ``--with-meta`` adds the structured truth behind each passage and query.
"""

from __future__ import annotations

import argparse
import logging

from dualrank.cli.logs import entry_point
from dualrank.data import synthetic

def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dualrank synthetic", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flavour", choices=sorted(synthetic.FLAVOURS), default="msmarco",
                    help="msmarco (keyword and question queries, with dl19) or nq (questions, titled "
                         "passages) (default: msmarco)")
    ap.add_argument("--seed", type=int, default=0, help="the seed of every random draw (default: 0)")
    ap.add_argument("--out-dir", required=True, help="directory of the tables")
    for name, (default, meaning) in synthetic.SIZES.items():
        ap.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                        help=f"{meaning} (default: {default})")
    ap.add_argument("--with-meta", action="store_true",
                    help="also write meta-passages.parquet and meta-queries.parquet (analyses)")
    return ap


@entry_point
def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    sizes = {k: getattr(args, k) for k in synthetic.DEFAULTS}
    tables = synthetic.generate(args.flavour, args.seed, with_meta=args.with_meta, **sizes)
    paths = synthetic.write(tables, args.out_dir)
    if args.with_meta:
        paths += synthetic.write_meta(tables, args.out_dir)
    logging.getLogger("dualrank.synthetic").info(
        "%s seed %d: wrote %d tables to %s (%s)", args.flavour, args.seed, len(paths), args.out_dir,
        ", ".join(f"{n} {len(t)}" for n, t in tables.items()))


if __name__ == "__main__":
    main()
