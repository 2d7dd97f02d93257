"""One of Tables 2-12 or Figures 1-8 from its run directories.

    dualrank render --layout JSON --csv T.csv --md T.md [--html T.html] [--about T.txt]   (tables)
    dualrank render --layout JSON --png F.png --pdf F.pdf [--csv F.csv]     (figures)

``--layout`` is :func:`dualrank.grid.experiment_layout` of one config.yaml ``experiments`` entry;
the report rules pass it. Its ``kind`` picks the renderer (see :mod:`dualrank.report.render`):
tables metrics, table2, discrepancy, disagreement; figures embedding_size, learning_curve,
score_distributions, snapshots. A figure's optional ``--csv`` holds the numbers it draws. Every
table and figure carries a provenance footer (preset, encoder sizes, seeds, std, commit); a
table's ``--html`` is the same table for the Snakemake report, ``--about`` the footer as text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point

log = logging.getLogger("dualrank.report")


@dataclass(frozen=True)
class Args:
    layout: str = option("JSON (see dualrank.report.common)")
    csv: str | None = option("a table's numbers (tables; optional for figures)", None)
    md: str | None = option("a table in Markdown (tables)", None)
    png: str | None = option("a figure as PNG (figures)", None)
    pdf: str | None = option("a figure as PDF (figures)", None)
    html: str | None = option("a table as an HTML page, shown inline by the Snakemake report (tables)", None)
    about: str | None = option("a table's provenance footer as text, beside its CSV (tables)", None)


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "render", __doc__)
    from dualrank.report import common, render

    layout = common.parse_layout(a.layout)
    t0 = time.time()
    render.render(layout, a.csv, a.md, a.png, a.pdf, a.html, a.about)
    log.info("%s (%s runs) rendered in %.1f s", layout.get("name"), len(layout.get("cells", [])), time.time() - t0)


if __name__ == "__main__":
    main()
