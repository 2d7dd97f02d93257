"""Elements of one big top-level JSON array, parsed as a stream (DPR's biencoder files are
several GB: the standard ``json.load`` would hold the whole file and its objects at once).

Errors name the line: malformed JSON and invalid UTF-8 raise InputError ``path:line: what``.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

from dualrank.data.formats.lines import bad_utf8, open_binary
from dualrank.data.io import InputError

#: Text before the parse position is dropped once it grows past this many characters.
_KEEP = 1 << 20


def _iter_text(path: str | Path, block: int) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, text)`` pieces of at most ``block`` bytes that never span two lines,
    decoded strictly as UTF-8 (so a bad byte is reported on its own line)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line_no = 1
    with open_binary(path) as f:
        while True:
            raw = f.readline(block)
            final = not raw
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as e:
                raise bad_utf8(path, line_no, raw, e) from None
            if final:
                return
            yield line_no, text
            if raw.endswith(b"\n"):
                line_no += 1


class _Stream:
    """The decoded text read so far (``buf``), the parse position in it (``pos``) and the line
    number of ``buf[0]``; refilled ``block`` characters at a time."""

    def __init__(self, path: str | Path, block: int):
        self.path, self.block = path, block
        self.pieces = _iter_text(path, block)
        self.buf = ""
        self.pos = 0
        self.base_line = 1  # line number of buf[0]
        self.eof = False

    def more(self) -> None:
        if self.pos > _KEEP:
            self.base_line += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos :], 0
        got = []
        size = 0
        for _, text in self.pieces:
            got.append(text)
            size += len(text)
            if size >= self.block:
                break
        else:
            self.eof = True
        self.buf += "".join(got)

    def line_at(self, i: int) -> int:
        return self.base_line + self.buf.count("\n", 0, i)

    def fail(self, i: int, what: str) -> InputError:
        return InputError(f"{self.path}:{self.line_at(i)}: {what}")

    def skip_ws(self) -> str:
        """Move past white space (and a leading BOM); the next character, "" at the end."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                if self.pos == 0 and self.base_line == 1 and self.buf[0] == "\ufeff":
                    self.pos = 1
                    continue
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.more()

    def element(self, decoder: json.JSONDecoder, max_element: int) -> tuple[int, object]:
        """The JSON value at the parse position and its line; reads on until it is whole."""
        self.skip_ws()
        start = self.pos
        while True:
            try:
                element, end = decoder.raw_decode(self.buf, start)
            except json.JSONDecodeError as e:
                if self.eof or len(self.buf) - start > max_element:
                    raise self.fail(e.pos, f"invalid JSON: {e.msg}") from None
                self.more()
                start = self.pos
                continue
            if end == len(self.buf) and not self.eof:  # a number may go on in the next block
                self.more()
                start = self.pos
                continue
            break
        line = self.line_at(start)
        self.pos = end
        return line, element


def iter_json_array(
    path: str | Path, block: int = 1 << 18, max_element: int = 1 << 26
) -> Iterator[tuple[int, object]]:
    """Yield ``(line_no, element)`` for each element of a top-level JSON array, streaming.

    ``line_no`` is the line where the element starts. Malformed JSON raises InputError with the
    line of the error; an element longer than ``max_element`` characters is refused.
    """
    decoder = json.JSONDecoder()
    s = _Stream(path, block)
    if s.skip_ws() != "[":
        raise s.fail(s.pos, "expected a JSON array ('[')")
    s.pos += 1
    if s.skip_ws() == "]":
        s.pos += 1
    else:
        while True:
            yield s.element(decoder, max_element)
            c = s.skip_ws()
            if c == "]":
                s.pos += 1
                break
            if c != ",":
                raise s.fail(s.pos, f"expected ',' or ']' after an array element, found {c!r}")
            s.pos += 1
    if s.skip_ws() != "":
        raise s.fail(s.pos, "unexpected data after the JSON array")
