"""One of Tables 2-12 or Figures 1-8 from its run directories.

    dualrank render --layout JSON --csv T.csv --md T.md                     (tables)
    dualrank render --layout JSON --png F.png --pdf F.pdf [--csv F.csv]     (figures)

``--layout`` is :func:`dualrank.grid.experiment_layout` of one config.yaml ``experiments`` entry;
the report rules pass it. Its ``kind`` picks the renderer (see :mod:`dualrank.report.render`):
tables metrics, table2, discrepancy, disagreement; figures embedding_size, learning_curve,
score_distributions, snapshots. A figure's optional ``--csv`` holds the numbers it draws.
"""

from __future__ import annotations

import argparse
import logging
import time

from dualrank.cli.logs import entry_point

log = logging.getLogger("dualrank.report")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank render", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layout", required=True, help="JSON (see dualrank.report.common)")
    p.add_argument("--csv", help="a table's numbers (tables; optional for figures)")
    p.add_argument("--md", help="a table in Markdown (tables)")
    p.add_argument("--png", help="a figure as PNG (figures)")
    p.add_argument("--pdf", help="a figure as PDF (figures)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.report import common, render

    args = parser().parse_args(argv)
    layout = common.parse_layout(args.layout)
    t0 = time.time()
    render.render(layout, args.csv, args.md, args.png, args.pdf)
    log.info("%s (%s runs) rendered in %.1f s", layout.get("name"), len(layout.get("cells", [])), time.time() - t0)


if __name__ == "__main__":
    main()
