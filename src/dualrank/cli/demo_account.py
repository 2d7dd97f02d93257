"""The README's account of the demo, from a finished demo's tables (see :mod:`dualrank.report.account`).

    dualrank demo-account --results results --snapshot docs/demo-results --readme README.md [--trained-at COMMIT]
    dualrank demo-account --snapshot docs/demo-results --readme README.md --check

With ``--results``, Tables 1, 2 and 7 (CSV and provenance footer) are first copied into
``--snapshot``; the README's marked block is then written from the snapshot. ``--check`` writes
nothing and exits 2 if the block is not what the snapshot gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point


@dataclass(frozen=True)
class Args:
    snapshot: Path = option("the committed copy of the demo's tables (docs/demo-results)")
    readme: Path = option("the README whose marked demo-account block is written or checked")
    results: Path | None = option("a finished demo's results folder to copy into --snapshot first", None)
    trained_at: str | None = option("with --results: the commit the runs were trained at, if not the renderer's",
                                    None)
    check: bool = option("only check that the README's block is what the snapshot gives", False)


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "demo-account", __doc__)
    from dualrank.report import account

    account.update(a.snapshot, a.readme, a.results, a.trained_at, a.check)


if __name__ == "__main__":
    main()
