"""Fetch one upstream file, resumably, checked against its MD5.

    dualrank download --url URL [--md5 HEX] --out PATH [--header 'Name: value' ...]

The bytes go to ``PATH.part`` and are renamed to ``PATH`` once whole and checked; a killed or
failed download resumes where it stopped, transient errors are retried with backoff
(:mod:`dualrank.data.download`). An empty ``--md5`` (config's ``md5: null``) checks nothing and
logs the checksum.
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point
from dualrank.data.io import InputError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank download", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="http(s):// or file:// URL of the file")
    p.add_argument("--out", required=True, help="where the file goes")
    p.add_argument("--md5", default=None, help="expected MD5 (hex); strongly recommended")
    p.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    p.add_argument("--retries", type=int, default=8,
                   help="consecutive failed attempts without new bytes before giving up (default: 8)")
    p.add_argument("--backoff", type=float, default=2.0, help="first retry wait, seconds (default: 2)")
    p.add_argument("--timeout", type=float, default=60.0, help="socket timeout, seconds (default: 60)")
    p.add_argument("--progress-every", type=float, default=10.0,
                   help="seconds between progress logs (default: 10)")
    return p


def blank(value: str | None) -> bool:
    """A config ``null`` as it reaches a command line: '', 'null' or 'none'."""
    return value is None or value.strip().lower() in ("", "null", "none")


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise InputError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


@entry_point
def main(argv: list[str] | None = None) -> None:
    from dualrank.data.download import download

    a = parser().parse_args(argv)
    download(a.url, a.out, None if blank(a.md5) else a.md5, retries=a.retries, backoff=a.backoff,
             timeout=a.timeout, headers=dict(_parse_header(h) for h in a.header),
             progress_every=a.progress_every)


if __name__ == "__main__":
    main()
