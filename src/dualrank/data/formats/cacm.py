"""HTML documents in a tar archive (Anserini's ``HtmlCollection``, as ``cacm.tar.gz``), with the
page text extracted as Anserini's Jsoup-based generator extracts it."""

from __future__ import annotations

import re
import tarfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from dualrank.data.io import InputError

#: Elements Jsoup's ``Element.text()`` separates from their neighbours by a space (its block
#: tags, and ``br``); inline tags (``b``, ``a``, ``span``, ...) join their text to the next.
_HTML_BLOCK = frozenset(
    "address applet article aside audio blockquote body br canvas caption center col colgroup "
    "dd del details dialog dir div dl dt fieldset figcaption figure footer form frame frameset "
    "h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe ins li listing main marquee menu nav "
    "noframes noscript ol p plaintext pre section summary table tbody td template tfoot th "
    "thead title tr ul video".split()
)
#: Their content is data, not text, for Jsoup: left out of ``text()``.
_HTML_DATA = frozenset(("script", "style"))
#: What Jsoup's ``text()`` collapses to one space (``StringUtil.isActuallyWhitespace``: HTML
#: whitespace and the non-breaking space) and what it drops (zero-width space, soft hyphen).
_HTML_SPACE = re.compile("[ \t\n\f\r\u00a0]+")
_HTML_INVISIBLE = re.compile("[\u200b\u00ad]")


class _HtmlText(HTMLParser):
    """The text of an HTML page as Jsoup's ``Document.text()`` gives it: tags removed, entities
    and character references decoded (``convert_charrefs``; a bare ``&`` stays ``&``), a space
    where a block element starts or ends, comments, scripts and styles left out, runs of
    whitespace (non-breaking spaces included) collapsed to one space, zero-width spaces and
    soft hyphens dropped, the ends trimmed. (Jsoup keeps the whitespace inside ``<pre>``;
    collapsing it changes no token for a Lucene analyzer.)"""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._data_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _HTML_DATA:
            self._data_depth += 1
        if tag in _HTML_BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _HTML_DATA:
            self._data_depth = max(0, self._data_depth - 1)
        if tag in _HTML_BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._data_depth:
            self.parts.append(data)

    def text(self) -> str:
        text = _HTML_INVISIBLE.sub("", "".join(self.parts))
        return _HTML_SPACE.sub(" ", text).strip(" ")


def html_text(html: str) -> str:
    """The text content of an HTML document, as Jsoup's ``Jsoup.parse(html).text()``."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.text()


def _member_html(path: Path, name: str, raw: bytes) -> str:
    try:
        html = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        near = raw[max(0, e.start - 10) : e.end + 10]
        raise InputError(
            f"{path}:{name}: invalid UTF-8 at byte {e.start} (line {line}; "
            f"{e.reason}; near {near!r})"
        ) from None
    return html.removeprefix("\ufeff")


def _doc_id(path: Path, name: str, first: dict[str, str]) -> str:
    base = name.rsplit("/", 1)[-1]
    doc_id = base[: -len(".html")] if base.endswith(".html") else base
    if not doc_id or len(doc_id.split()) != 1:
        raise InputError(f"{path}:{name}: doc id {doc_id!r} is empty or contains whitespace")
    if doc_id in first:
        raise InputError(f"{path}:{name}: duplicate doc_id {doc_id!r} (first from {first[doc_id]})")
    first[doc_id] = name
    return doc_id


def read_cacm_html(path: str | Path) -> pd.DataFrame:
    """A ``.tar.gz`` of HTML files (Anserini's ``HtmlCollection``, as ``cacm.tar.gz``: one
    ``CACM-0001.html`` ... per document, each a ``<pre>`` block) as a corpus table.

    Like Anserini (``HtmlCollection`` with its Jsoup generator): the doc id is the member's file
    name without its directory and a trailing ``.html``; the text is the page's text content
    (:func:`html_text`); directories and other non-file members are skipped. Members are read
    in archive order and each is decoded strictly as UTF-8 (a leading BOM dropped): a bad byte
    raises InputError ``archive:member: invalid UTF-8 ...``; so do a duplicate doc id and an
    archive that is not a readable gzip'd tar. The index is the 0-based position of the member
    among the files.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    rows: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    try:
        with tarfile.open(path, mode="r|*") as tar:  # a stream: one pass, no random access
            for member in tar:
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                html = _member_html(path, member.name, f.read() if f is not None else b"")
                doc_id = _doc_id(path, member.name, first)
                rows.append((doc_id, html_text(html)))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise InputError(f"{path}: not a readable tar archive ({type(e).__name__}: {e})") from e
    return pd.DataFrame(rows, columns=["doc_id", "text"], dtype="str")
