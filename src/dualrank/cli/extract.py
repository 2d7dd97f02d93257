"""One member of a downloaded archive (or a decompressed .gz) to a file.

    dualrank extract --archive A.tar.gz --member NAME --out PATH [--md5 HEX]
    dualrank extract --archive F.gz --out PATH        # a plain .gz/.bz2/.xz file

``--member``/``--out`` (and ``--md5``) may be repeated, paired in order, to take several
members in one pass over the archive. Without ``--member``, or with an empty one (config's
``member: null``), the archive must be a single compressed file, which is decompressed. A
member is matched by its path in the archive or, when the name has no ``/``, by its base name
(:mod:`dualrank.data.extract`).
"""

from __future__ import annotations

import argparse

from dualrank.cli.download import blank
from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank extract", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archive", required=True, help="the tar(.gz/.bz2/.xz) or compressed file")
    p.add_argument("--member", action="append", default=[],
                   help="member to extract (repeatable, paired in order with --out)")
    p.add_argument("--out", action="append", required=True, help="where a member goes (repeatable)")
    p.add_argument("--md5", action="append", default=[],
                   help="expected MD5 of each extracted file (optional, paired with --out)")
    p.add_argument("--progress-every", type=float, default=10.0,
                   help="seconds between progress logs (default: 10)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.data.extract import extract_files

    a = parser().parse_args(argv)
    members = [] if all(blank(m) for m in a.member) else a.member
    md5s = [None if blank(m) else m for m in a.md5]
    extract_files(a.archive, members, a.out, md5s, a.progress_every)


if __name__ == "__main__":
    main()
