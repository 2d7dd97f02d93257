"""What every line-based reader shares: strict UTF-8 lines, ``path:line`` errors, DataFrame chunks.

Every line is read as bytes and decoded strictly as UTF-8 (a leading BOM is dropped; ``\\n``
and ``\\r\\n`` endings are accepted; ``.gz`` files are read through gzip), so that any malformed
line -- a missing field, an invalid UTF-8 byte, a non-integer grade, a blank line -- raises
:class:`~dualrank.data.io.InputError` as ``path:line_no: what is wrong``. The DataFrames have
an index named ``line`` holding the 1-based source line of each row, which :func:`check_ids`
uses to point at the offending line.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from dualrank.data.io import InputError

CHUNK_ROWS = 200_000

INT8 = (-128, 127)


class LineError(Exception):
    """A problem with one line; the reader loop adds ``path:line_no``."""


class _Gzip:
    """A ``.gz`` file read line by line (or in blocks) whose decompression errors -- a truncated
    file, one that is not gzip at all -- raise InputError naming the file and the line reached,
    not EOFError or BadGzipFile."""

    def __init__(self, path: Path):
        self.path, self.lines = path, 0
        self.f = gzip.open(path, "rb")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()

    def _fail(self, e: Exception) -> InputError:
        if isinstance(e, EOFError):
            what = "truncated gzip file (it ends before its end-of-stream marker)"
        else:
            what = f"not a valid gzip file ({e})"
        return InputError(f"{self.path}: {what}" + (f", after line {self.lines}" if self.lines else ""))

    def readline(self, size: int = -1) -> bytes:
        try:
            line = self.f.readline(size)
        except (EOFError, OSError, zlib.error) as e:
            raise self._fail(e) from None
        self.lines += line.endswith(b"\n")
        return line

    def read(self, size: int = -1) -> bytes:
        try:
            return self.f.read(size)
        except (EOFError, OSError, zlib.error) as e:
            raise self._fail(e) from None

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


def open_binary(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return _Gzip(path) if path.suffix == ".gz" else open(path, "rb")


def bad_utf8(path, line_no: int, raw: bytes, err: UnicodeDecodeError) -> InputError:
    snippet = raw[max(0, err.start - 10) : err.end + 10]
    return InputError(
        f"{path}:{line_no}: invalid UTF-8 at byte {err.start} of the line ({err.reason}; "
        f"near {snippet!r})"
    )


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_no, text)`` for each line, decoded strictly as UTF-8, without its ending."""
    with open_binary(path) as f:
        for line_no, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise bad_utf8(path, line_no, raw, e) from None
            if line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            if line_no == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line_no, line


def iter_chunks(
    path: str | Path,
    parse: Callable[[str], tuple | None],
    columns: list[str],
    dtypes: dict[str, str],
    chunk_rows: int,
    skip_lines: int = 0,
) -> Iterator[pd.DataFrame]:
    """Parse every line with ``parse`` (which raises LineError) into DataFrame chunks."""
    rows: list[tuple] = []
    lines: list[int] = []
    total = 0
    for line_no, line in iter_lines(path):
        if line_no <= skip_lines:
            continue
        if not line.strip():
            raise InputError(f"{path}:{line_no}: empty line")
        try:
            row = parse(line)
        except LineError as e:
            raise InputError(f"{path}:{line_no}: {e}") from None
        rows.append(row)
        lines.append(line_no)
        total += 1
        if len(rows) >= chunk_rows:
            yield frame(rows, lines, columns, dtypes)
            rows, lines = [], []
    if total == 0:
        # No file this reads is legitimately empty: an empty collection or qrels would give
        # a silent, wrong (zero) result downstream.
        raise InputError(f"{path}: no rows (an empty file{' after its header' if skip_lines else ''})")
    if rows:
        yield frame(rows, lines, columns, dtypes)


def frame(rows, lines, columns, dtypes) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=columns)
    df.index = pd.Index(lines, dtype="int64", name="line")
    return df.astype(dtypes) if dtypes else df


def concat(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    chunks = list(chunks)
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks)


def check_unique(df: pd.DataFrame, keys: list[str], path) -> None:
    dup = df.duplicated(keys)
    if dup.any():
        pos = int(dup.to_numpy().argmax())
        row = df.iloc[pos]
        same = (df[keys] == row[keys]).all(axis=1).to_numpy()
        first = df.index[same.argmax()]
        what = ", ".join(f"{k} {row[k]!r}" for k in keys)
        raise InputError(
            f"{path}:{df.index[pos]}: duplicate {what} (first on line {first}); "
            f"{int(dup.sum())} duplicate rows in all"
        )


def parse_id(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise LineError(f"empty {what}")
    if len(value.split()) != 1:
        raise LineError(f"{what} {value!r} contains whitespace")
    return value


def parse_int(value: str, what: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        x = int(value)
    except ValueError:
        raise LineError(f"{what} {value!r} is not an integer") from None
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise LineError(f"{what} {x} out of range [{lo}, {hi}]")
    return x


def parse_float(value: str, what: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise LineError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise LineError(f"{what} {value!r} is not finite")
    return x


def split_fields(line: str, n: int, names: str, sep: str | None = "\t") -> list[str]:
    parts = line.split(sep)
    if len(parts) != n:
        kind = "tab" if sep == "\t" else "whitespace"
        raise LineError(f"expected {n} {kind}-separated fields ({names}), found {len(parts)}")
    return parts


def id_text(what: str, allow_empty_text: bool) -> Callable[[str], tuple]:
    """A parser of ``id<TAB>text`` lines (``what``: doc or query)."""

    def parse(line: str) -> tuple:
        ident, text = split_fields(line, 2, f"{what}_id, text")
        if not allow_empty_text and not text.strip():
            raise LineError(f"empty text for {what}_id {ident.strip()!r}")
        return parse_id(ident, f"{what}_id"), text

    return parse


def check_ids(
    table: pd.DataFrame,
    known_ids: Iterable[str],
    what: str,
    path: str | Path,
    known_as: str = "the known ids",
) -> None:
    """Raise InputError if some ``table[what]`` value is not in ``known_ids``.

    The message names ``path``, the first unknown id (with its source line when the table
    comes from a line-based reader) and how many rows and distinct ids are unknown, e.g. a
    qrels doc id missing from the corpus: ``check_ids(qrels, corpus.doc_id, "doc_id", path,
    "the corpus")``.
    """
    if what not in table.columns:
        raise InputError(f"{path}: no column {what!r} to check (has {list(table.columns)})")
    if not isinstance(known_ids, (pd.Index, pd.Series, set, frozenset)):
        known_ids = pd.Index(list(known_ids))
    unknown = ~table[what].isin(known_ids)
    if not unknown.any():
        return
    pos = int(unknown.to_numpy().argmax())
    first = table[what].iloc[pos]
    loc = f"{path}:{table.index[pos]}" if table.index.name == "line" else str(path)
    n_rows = int(unknown.sum())
    n_ids = table.loc[unknown.to_numpy(), what].nunique()
    raise InputError(
        f"{loc}: {what} {first!r} is not in {known_as} ({n_ids} unknown {what} values, "
        f"{n_rows} of {len(table)} rows)"
    )
