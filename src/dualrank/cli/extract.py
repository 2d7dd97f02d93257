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

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.download import blank
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import PROGRESS_EVERY


@dataclass(frozen=True)
class Args:
    archive: str = option("the tar(.gz/.bz2/.xz) or compressed file")
    out: list[str] = option("where a member goes (repeatable)")
    member: list[str] = option("member to extract (repeatable, paired in order with --out)", [])
    md5: list[str] = option("expected MD5 of each extracted file (optional, paired with --out)", [])
    progress_every: float = option(PROGRESS_EVERY, 10.0)


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.data.extract import extract_files

    a = parse(Args, argv, "extract", __doc__)
    members = [] if all(blank(m) for m in a.member) else a.member
    md5s = [None if blank(m) else m for m in a.md5]
    extract_files(a.archive, members, a.out, md5s, a.progress_every)


if __name__ == "__main__":
    main()
