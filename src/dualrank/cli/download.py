"""Fetch one upstream file, resumably, checked against its MD5.

    dualrank download --url URL [--md5 HEX] --out PATH [--header 'Name: value' ...]

The bytes go to ``PATH.part`` and are renamed to ``PATH`` once whole and checked; a killed or
failed download resumes where it stopped, transient errors are retried with backoff
(:mod:`dualrank.data.download`). An empty ``--md5`` (config's ``md5: null``) checks nothing and
logs the checksum.
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import PROGRESS_EVERY
from dualrank.data.io import InputError


@dataclass(frozen=True)
class Args:
    url: str = option("http(s):// or file:// URL of the file")
    out: str = option("where the file goes")
    md5: str | None = option("expected MD5 (hex); strongly recommended", None)
    header: list[str] = option("extra 'Name: value' header (repeatable)", [])
    retries: int = option("consecutive failed attempts without new bytes before giving up", 8)
    backoff: float = option("first retry wait, seconds", 2.0)
    timeout: float = option("socket timeout, seconds", 60.0)
    progress_every: float = option(PROGRESS_EVERY, 10.0)


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

    a = parse(Args, argv, "download", __doc__)
    download(a.url, a.out, None if blank(a.md5) else a.md5, retries=a.retries, backoff=a.backoff,
             timeout=a.timeout, headers=dict(_parse_header(h) for h in a.header),
             progress_every=a.progress_every)


if __name__ == "__main__":
    main()
