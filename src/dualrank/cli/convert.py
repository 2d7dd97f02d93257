"""One upstream text file -> one Parquet contract table.

    dualrank convert KIND INPUT OUTPUT

KIND is ``collection`` (MS MARCO ``pid<TAB>text``, streamed), ``queries`` (``qid<TAB>text``),
``qrels`` (TREC / MS MARCO qrels), ``run`` (TREC or MS MARCO run) or ``cacm-html`` (a
``.tar.gz`` of HTML pages, Anserini's ``HtmlCollection``, to a corpus). The output is written
atomically; bad input prints ``path:line: what`` and exits with code 2, writing nothing.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    from dualrank.data.convert import KINDS

    p = argparse.ArgumentParser(prog="dualrank convert", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=sorted(KINDS), help="the upstream format of INPUT")
    p.add_argument("input", type=Path, help="the upstream text file")
    p.add_argument("output", type=Path, help="the Parquet contract table to write")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    import pyarrow.parquet as pq

    from dualrank.data import convert

    args = parser().parse_args(argv)
    out = convert.convert(args.kind, args.input, args.output)
    n = pq.ParquetFile(out).metadata.num_rows
    logging.getLogger("dualrank.convert").info("%s: %d rows (%s)", out, n, convert.KINDS[args.kind])
    return 0


if __name__ == "__main__":
    main()
