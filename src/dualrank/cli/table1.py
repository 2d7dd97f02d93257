"""Table 1 from its runs' metrics: MRR@10 and nDCG@10, mean ± std over seeds, beside the paper's.

    dualrank table1 --layout JSON --csv table1.csv --md table1.md

``--layout`` is :func:`dualrank.grid.table1_layout` of config.yaml (the ``table1`` block plus
``seeds``, ``results`` and ``compare_to_paper``); the report rule passes it. Each row's runs are
read from their metrics.json under ``results`` (see :mod:`dualrank.report.table1`).
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank table1", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layout", required=True,
                   help="JSON: columns, rows, seeds, results (folder) and compare_to_paper")
    p.add_argument("--csv", required=True, help="output: one line per row, column and metric")
    p.add_argument("--md", required=True, help="output: the table in Markdown")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.report import common, table1

    args = parser().parse_args(argv)
    table1.render(common.parse_layout(args.layout), args.csv, args.md)


if __name__ == "__main__":
    main()
