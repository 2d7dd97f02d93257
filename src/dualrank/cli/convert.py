"""One upstream text file -> one Parquet contract table.

    dualrank convert KIND INPUT OUTPUT

KIND is ``collection`` (MS MARCO ``pid<TAB>text``, streamed), ``queries`` (``qid<TAB>text``),
``qrels`` (TREC / MS MARCO qrels), ``run`` (TREC or MS MARCO run) or ``cacm-html`` (a
``.tar.gz`` of HTML pages, Anserini's ``HtmlCollection``, to a corpus). The output is written
atomically; bad input prints ``path:line: what`` and exits with code 2, writing nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.data import convert


@dataclass(frozen=True)
class Args:
    kind: str = option("the upstream format of INPUT", positional=True, choices=sorted(convert.KINDS))
    input: Path = option("the upstream text file", positional=True)
    output: Path = option("the Parquet contract table to write", positional=True)


@entry_point
def main(argv: list[str] | None = None) -> int:
    import pyarrow.parquet as pq

    a = parse(Args, argv, "convert", __doc__)
    out = convert.convert(a.kind, a.input, a.output)
    n = pq.ParquetFile(out).metadata.num_rows
    logging.getLogger("dualrank.convert").info("%s: %d rows (%s)", out, n, convert.KINDS[a.kind])
    return 0


if __name__ == "__main__":
    main()
