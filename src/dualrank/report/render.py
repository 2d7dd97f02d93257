"""Render one table or figure of the paper from its run directories.

    python -m dualrank.report.render --layout JSON --csv T.csv --md T.md          (tables)
    python -m dualrank.report.render --layout JSON --png F.png --pdf F.pdf [--csv F.csv]  (figures)

``--layout`` is the JSON the report rule builds from config.yaml (see
:mod:`dualrank.report.common`); its ``kind`` picks the renderer (default: the result's preset in
:mod:`dualrank.report.presets`, which also gives default ``params`` and the row names that
match the paper's values):

=====================  =========================  ===========================================
kind                   results                    module
=====================  =========================  ===========================================
metrics                Tables 4-9, 12             :mod:`dualrank.report.tables`
table2                 Table 2                    :mod:`dualrank.report.tables`
discrepancy            Table 3                    :mod:`dualrank.report.examples`
disagreement           Tables 10, 11              :mod:`dualrank.report.disagreement`
embedding_size         Figures 1, 3               :mod:`dualrank.report.figures`
learning_curve         Figure 4                   :mod:`dualrank.report.figures`
score_distributions    Figures 2, 5, 6, 8         :mod:`dualrank.report.distributions`
snapshots              Figure 7                   :mod:`dualrank.report.distributions`
=====================  =========================  ===========================================

A figure's optional ``--csv`` holds the numbers it draws.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

from dualrank.data.io import InputError
from dualrank.cli.logs import entry_point
from dualrank.report import common, disagreement, distributions, examples, figures, presets, tables

TABLES = {"metrics": tables.render, "table2": tables.render, "discrepancy": examples.discrepancy_table,
          "disagreement": disagreement.render}
FIGURES = {"embedding_size": figures.embedding_size, "learning_curve": figures.learning_curve,
           "score_distributions": distributions.score_distributions, "snapshots": distributions.snapshots}

log = logging.getLogger("dualrank.report")


def render(layout: dict, csv: str | None = None, md: str | None = None, png: str | None = None,
           pdf: str | None = None) -> object:
    layout = common.check_layout(presets.apply(layout))
    kind = layout["kind"]
    if kind in TABLES:
        if not (csv and md):
            raise InputError(f"layout {layout['name']!r}: a {kind} table needs --csv and --md")
        return TABLES[kind](layout, csv, md)
    if kind in FIGURES:
        if not (png and pdf):
            raise InputError(f"layout {layout['name']!r}: a {kind} figure needs --png and --pdf")
        return FIGURES[kind](layout, png, pdf, csv)
    raise InputError(f"layout {layout['name']!r}: unknown kind {kind!r}; known: {sorted(TABLES) + sorted(FIGURES)}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layout", required=True, help="JSON (see dualrank.report.common)")
    for name in ("csv", "md", "png", "pdf"):
        p.add_argument(f"--{name}")
    a = p.parse_args(argv)
    try:
        layout = json.loads(a.layout)
    except json.JSONDecodeError as e:
        raise InputError(f"--layout: not JSON (column {e.colno}): {e.msg}") from e
    t0 = time.time()
    render(layout, a.csv, a.md, a.png, a.pdf)
    log.info("%s (%s runs) rendered in %.1f s", layout.get("name"), len(layout.get("cells", [])), time.time() - t0)


if __name__ == "__main__":
    entry_point(main)()
