"""Table 1 from its runs' metrics: MRR@10 and nDCG@10, mean ± std over seeds, beside the paper's.

    dualrank table1 --layout JSON --csv table1.csv --md table1.md [--html table1.html] [--about F.txt]

``--layout`` is :func:`dualrank.grid.table1_layout` of config.yaml (the ``table1`` block plus
``seeds``, ``results`` and ``compare_to_paper``); the report rule passes it. Each row's runs are
read from their metrics.json under ``results`` (see :mod:`dualrank.report.table1`). The Markdown
ends with the provenance footer (preset, encoder sizes, seeds, std, commit), which ``--about``
also writes beside the CSV; ``--html`` is the same table for the Snakemake report.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point


@dataclass(frozen=True)
class Args:
    layout: str = option("JSON: columns, rows, seeds, results (folder) and compare_to_paper")
    csv: str = option("output: one line per row, column and metric")
    md: str = option("output: the table in Markdown")
    html: str | None = option("output: the table as an HTML page (the Snakemake report shows it inline)", None)
    about: str | None = option("output: the provenance footer as text (what produced the CSV)", None)


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "table1", __doc__)
    from dualrank.report import common, publish, table1

    layout = common.parse_layout(a.layout)
    table1.render(layout, a.csv, a.md)
    publish.finish_table({"title": "Table 1", **layout}, a.md, a.html, a.about)


if __name__ == "__main__":
    main()
