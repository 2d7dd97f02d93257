"""Render one table or figure of the paper (Tables 2-12, Figures 1-8) from its run directories;
``dualrank render`` runs it for the report rules.

The layout is the JSON :func:`dualrank.grid.experiment_layout` builds from config.yaml (see
:mod:`dualrank.report.common`). Its ``kind`` (config.yaml's ``experiments.<name>.kind``,
required) picks the renderer; :mod:`dualrank.report.presets` gives each result's default
``params`` and lists the row names that match the paper's values. The kinds:

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

A figure's optional ``csv`` holds the numbers it draws. Every table is finished by
:mod:`dualrank.report.publish` (title, provenance footer, optional HTML); every figure draws the
footer under its panels (:func:`dualrank.report.figures.save`).
"""

from __future__ import annotations

from dualrank.data.io import InputError
from dualrank.report import common, disagreement, distributions, examples, figures, presets, publish, tables

TABLES = {"metrics": tables.render, "table2": tables.render, "discrepancy": examples.discrepancy_table,
          "disagreement": disagreement.render}
FIGURES = {"embedding_size": figures.embedding_size, "learning_curve": figures.learning_curve,
           "score_distributions": distributions.score_distributions, "snapshots": distributions.snapshots}


def render(layout: dict, csv: str | None = None, md: str | None = None, png: str | None = None,
           pdf: str | None = None, html: str | None = None, about: str | None = None) -> object:
    """Draw ``layout`` with its kind's renderer: a table to ``csv`` and ``md`` (and ``html``,
    ``about``), a figure to ``png`` and ``pdf`` (and its numbers to ``csv`` when given). Returns
    the renderer's numbers."""
    layout = common.check_layout(presets.apply(layout))
    kind = layout["kind"]
    if kind in TABLES:
        if not (csv and md):
            raise InputError(f"layout {layout['name']!r}: a {kind} table needs --csv and --md")
        out = TABLES[kind](layout, csv, md)
        publish.finish_table(layout, md, html, about)
        return out
    if kind in FIGURES:
        if not (png and pdf):
            raise InputError(f"layout {layout['name']!r}: a {kind} figure needs --png and --pdf")
        return FIGURES[kind](layout, png, pdf, csv)
    raise InputError(f"layout {layout['name']!r}: unknown kind {kind!r}; known: {sorted(TABLES) + sorted(FIGURES)}")
