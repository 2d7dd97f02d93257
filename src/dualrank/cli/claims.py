"""The paper's claims with a verdict each, and paper versus measured per cell.

    dualrank claims --spec JSON --csv claims.csv --md claims.md \\
        --paper-csv paper-vs-measured.csv --paper-md paper-vs-measured.md [--summary claims-summary.csv]

``--spec`` is :func:`dualrank.report.targets.claims_spec` of config.yaml (every metric table's
layout, the ``claims`` list, the ``significance`` settings, ``reproduction.tolerance`` and
``report.compare_to_paper``); the claims rule passes it. See :mod:`dualrank.report.claims` and
:mod:`dualrank.report.reproduction`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point


@dataclass(frozen=True)
class Args:
    spec: str = option("JSON: tables (layouts), claims, significance, tolerance, compare_to_paper")
    csv: str = option("output: one line per claim")
    md: str = option("output: the claims table in Markdown")
    paper_csv: str = option("output: paper versus measured, one line per cell with a published value")
    paper_md: str = option("output: the same in Markdown")
    summary: str | None = option("output: the claims as the HTML report's first table shows them (CSV)", None)


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "claims", __doc__)
    from dualrank.report import claims, common, reproduction

    spec = common.parse_layout(a.spec)
    claims.render(spec, a.csv, a.md, a.summary)
    reproduction.render(spec, a.paper_csv, a.paper_md)


if __name__ == "__main__":
    main()
