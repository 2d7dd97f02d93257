"""Checked, resumable downloads of the upstream data files, and extraction of archive members.

    python -m dualrank.data.download --url URL [--md5 HEX] --out PATH [--header 'Name: value' ...]
    python -m dualrank.data.download extract --archive A.tar.gz --member NAME --out PATH [--md5 HEX]
    python -m dualrank.data.download extract --archive F.gz --out PATH        # plain .gz/.bz2/.xz

Download (standard library only: urllib):

* The bytes go to ``PATH.part`` (beside ``PATH``, never at it); ``PATH.part.meta`` remembers the
  URL and the server's validator (ETag or Last-Modified). A killed or failed download resumes
  from the bytes already there with ``Range: bytes=N-`` (and ``If-Range``, so a file that
  changed upstream is fetched whole again); a server that ignores ranges (answers 200) makes it
  start over.
* Connection errors, timeouts, truncated bodies and HTTP 408/429/5xx are retried with
  exponential backoff; an attempt that received new bytes resets the failure count, so a long
  download over a flaky link keeps going. Other HTTP errors (404, 403, ...) fail at once.
* The MD5 is computed while streaming (the bytes of a resumed ``.part`` are hashed once) and
  checked before the final atomic rename. On a mismatch the ``.part`` is deleted and a
  :class:`DownloadError` (an :class:`~dualrank.data.io.InputError`) names the URL and the
  expected and actual checksums; nothing is left at ``PATH``. Without ``--md5`` the computed
  checksum is logged so that it can be pinned in config.yaml.
* If ``PATH`` already exists with the expected MD5 nothing is fetched.
* Progress is logged every ``--progress-every`` seconds (MB, percent, MB/s).
* ``file://`` URLs work the same way (used by the tests and for local mirrors).
* Azure hosts (``*.windows.net``, where MS MARCO lives) get ``X-Ms-Version: 2019-12-12``
  unless given otherwise: without it Azure serves large blobs with an old API version that
  breaks ranged and large downloads (ir_datasets sends the same header).

Extraction streams one member of a tar (plain, .gz, .bz2 or .xz; read sequentially, so an
8 GB archive is never seeked or held in memory) to a temporary file beside ``PATH`` and renames
it into place; ``--member``/``--out`` may be repeated to take several members in one pass.
Without ``--member`` the archive must be a single compressed file, which is decompressed. A
member is matched by its path in the archive (a leading ``./`` is ignored) or, when the name
has no ``/``, by its base name.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import hashlib
import http.client
import json
import logging
import lzma
import os
import re
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.cli.logs import entry_point

log = logging.getLogger("dualrank.data.download")

CHUNK = 1 << 20
USER_AGENT = "dualrank-download/0.1 (python urllib)"
AZURE_HEADERS = {"X-Ms-Version": "2019-12-12"}
RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}
MB = 1e6


class DownloadError(InputError):
    """A download that cannot complete: bad checksum, HTTP error, or retries exhausted."""


class _Retry(Exception):
    """A transient failure of one attempt (the caller backs off and tries again)."""


class _Restart(Exception):
    """The partial file cannot be resumed; start again from byte 0 without waiting."""


# --------------------------------------------------------------------------------------------
# Helpers


def md5_file(path: str | os.PathLike, hasher=None) -> str:
    """MD5 of a file, read in chunks."""
    h = hasher or hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _check_md5_arg(md5: str | None, where: str) -> str | None:
    if md5 is None:
        return None
    md5 = md5.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", md5):
        raise InputError(f"{where}: md5 {md5!r} is not 32 hexadecimal digits")
    return md5


def _part_paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".part"), out.with_name(out.name + ".part.meta")


def _read_meta(meta: Path) -> dict:
    try:
        return json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}


def _write_meta(meta: Path, data: dict) -> None:
    tmp = meta.with_name(meta.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, meta)


class _Progress:
    """Logs bytes, percent and rate at most every ``every`` seconds."""

    def __init__(self, what: str, every: float, total: int | None = None, start: int = 0):
        self.what, self.every, self.total = what, every, total
        self.start_bytes = self.logged = start
        self.t0 = self.last = time.monotonic()

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if (not force and now - self.last < self.every) or done == self.logged:
            return
        self.last, self.logged = now, done
        rate = (done - self.start_bytes) / MB / max(now - self.t0, 1e-9)
        if self.total:
            log.info("%s: %.1f / %.1f MB (%.1f%%), %.2f MB/s", self.what, done / MB,
                     self.total / MB, 100.0 * done / self.total, rate)
        else:
            log.info("%s: %.1f MB, %.2f MB/s", self.what, done / MB, rate)


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes START-END/TOTAL`` (or ``bytes */TOTAL``) -> (START, TOTAL); None where absent."""
    if not value:
        return None, None
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value)
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


# --------------------------------------------------------------------------------------------
# One attempt


def _open(url: str, offset: int, headers: dict, validator: str | None, timeout: float):
    """Open ``url`` at byte ``offset``.

    Returns ``(stream, start, total, validator)``: the byte the stream starts at (0 when the
    server ignored the range), the full size if known, and the server's ETag/Last-Modified.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "file":
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file")
        st = path.stat()
        if offset > st.st_size:
            raise _Restart(f"partial file ({offset} bytes) is longer than the source "
                           f"({st.st_size})")
        try:
            f = path.open("rb")  # returned open; the caller closes it
        except OSError as e:
            raise DownloadError(f"{url}: cannot open: {e}") from None
        f.seek(offset)
        return f, offset, st.st_size, f"mtime:{st.st_mtime_ns}:{st.st_size}"

    req_headers = {"User-Agent": USER_AGENT}
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host.endswith(".windows.net"):
        req_headers.update(AZURE_HEADERS)
    req_headers.update(headers)
    if offset > 0:
        req_headers["Range"] = f"bytes={offset}-"
        if validator:
            req_headers["If-Range"] = validator
    req = urllib.request.Request(url, headers=req_headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        with contextlib.suppress(Exception):
            e.close()
        if e.code == 416 and offset > 0:
            _, total = _parse_content_range(e.headers.get("Content-Range"))
            if total is not None and total == offset:
                return None, offset, total, validator  # the .part is already complete
            raise _Restart(f"HTTP 416 for a range from byte {offset} (size {total})") from None
        if e.code in RETRYABLE_HTTP:
            raise _Retry(f"HTTP {e.code} {e.reason}") from None
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise _Retry(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from None

    status = resp.status
    length = resp.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    new_validator = resp.headers.get("ETag")
    if not new_validator or new_validator.startswith("W/"):
        new_validator = resp.headers.get("Last-Modified")
    if status == 206:
        start, total = _parse_content_range(resp.headers.get("Content-Range"))
        if start != offset:
            resp.close()
            raise _Restart(f"asked for byte {offset}, server sent a range from {start}")
        if total is None and length is not None:
            total = offset + length
        return resp, offset, total, new_validator
    if status == 200:
        if offset > 0:
            log.info("%s: server sent the whole file (no range support, or it changed "
                     "upstream); restarting from byte 0", url)
        return resp, 0, length, new_validator
    resp.close()
    raise DownloadError(f"{url}: unexpected HTTP status {status}")


def _attempt(url, part, meta, offset, hasher_state, headers, timeout, progress_every) -> int:
    """Fetch from ``offset`` into ``part``; return the final size. Raises _Retry/_Restart."""
    info = _read_meta(meta)
    stream, start, total, validator = _open(url, offset, headers, info.get("validator"), timeout)
    old = info.get("validator")
    if start > 0 and old and validator and old != validator:
        if stream is not None:
            stream.close()
        raise _Restart(f"the file changed upstream ({old} -> {validator})")
    _write_meta(meta, {"url": url, "validator": validator, "size": total})
    if stream is None:
        return offset
    if start == 0 and offset > 0:
        hasher_state["h"], hasher_state["n"] = hashlib.md5(), 0
    done = start
    progress = _Progress(url, progress_every, total, start)
    try:
        with stream, open(part, "r+b" if start > 0 else "wb") as f:
            f.seek(start)
            f.truncate()
            while True:
                try:
                    block = stream.read(CHUNK)
                except http.client.IncompleteRead as e:
                    f.write(e.partial)
                    hasher_state["h"].update(e.partial)
                    done += len(e.partial)
                    raise _Retry(f"connection closed after {done} bytes") from None
                if not block:
                    break
                f.write(block)
                hasher_state["h"].update(block)
                done += len(block)
                progress.update(done)
            f.flush()
            os.fsync(f.fileno())
    except (OSError, http.client.HTTPException) as e:
        raise _Retry(f"{type(e).__name__} after {done} bytes: {e}") from None
    finally:
        hasher_state["n"] = done
    if total is not None and done < total:
        raise _Retry(f"connection closed after {done} of {total} bytes")
    if total is not None and done > total:
        raise _Restart(f"received {done} bytes, more than the announced {total}")
    progress.update(done, force=True)
    return done


# --------------------------------------------------------------------------------------------
# Public API


def download(
    url: str,
    out: str | os.PathLike,
    md5: str | None = None,
    *,
    retries: int = 8,
    backoff: float = 2.0,
    max_backoff: float = 120.0,
    timeout: float = 60.0,
    headers: dict[str, str] | None = None,
    progress_every: float = 10.0,
) -> Path:
    """Download ``url`` to ``out`` (atomically, resumably, MD5-checked); return ``out``.

    ``retries`` bounds the consecutive failed attempts that received no new byte; the wait
    before retry k is ``min(backoff * 2**(k-1), max_backoff)`` seconds.
    """
    out = Path(out)
    md5 = _check_md5_arg(md5, url)
    headers = dict(headers or {})
    out.parent.mkdir(parents=True, exist_ok=True)
    part, meta = _part_paths(out)

    if out.exists() and md5 is not None:
        if md5_file(out) == md5:
            log.info("%s: already present with md5 %s", out, md5)
            return out
        log.info("%s: exists but its md5 differs from %s; downloading again", out, md5)

    info = _read_meta(meta)
    if part.exists() and info.get("url") != url:
        log.info("%s: discarding a partial download of another URL (%s)", part, info.get("url"))
        part.unlink()
    hasher_state = {"h": hashlib.md5(), "n": 0}
    failures = 0
    t0 = time.monotonic()
    first_offset = part.stat().st_size if part.exists() else 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if hasher_state["n"] != offset:  # resuming bytes this process has not hashed
            hasher_state["h"] = hashlib.md5()
            if offset:
                log.info("%s: resuming after %.1f MB already in %s", url, offset / MB, part)
                md5_file(part, hasher_state["h"])
            hasher_state["n"] = offset
        try:
            size = _attempt(url, part, meta, offset, hasher_state, headers, timeout,
                            progress_every)
            break
        except _Restart as e:
            log.warning("%s: %s; restarting from byte 0", url, e)
            part.unlink(missing_ok=True)
            hasher_state = {"h": hashlib.md5(), "n": 0}
            failures += 1
        except _Retry as e:
            now = part.stat().st_size if part.exists() else 0
            failures = 0 if now > offset else failures + 1
            if failures > retries:
                raise DownloadError(
                    f"{url}: giving up after {retries} retries without progress "
                    f"({now} bytes kept in {part} for a later resume): {e}"
                ) from None
            wait = min(backoff * 2 ** max(failures - 1, 0), max_backoff)
            log.warning("%s: %s; retrying in %.1f s", url, e, wait)
            time.sleep(wait)
            continue
        if failures > retries:
            raise DownloadError(f"{url}: giving up after {retries} restarts")

    actual = hasher_state["h"].hexdigest()
    if hasher_state["n"] != size:  # cannot happen, but never trust a stale hash
        actual = md5_file(part)
    if md5 is not None and actual != md5:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: md5 mismatch: expected {md5}, got {actual} ({size} bytes); "
            f"removed {part}, nothing written to {out}"
        )
    os.replace(part, out)
    meta.unlink(missing_ok=True)
    secs = time.monotonic() - t0
    log.info("%s -> %s: %.1f MB in %.1f s (%.2f MB/s), md5 %s%s", url, out, size / MB, secs,
             (size - first_offset) / MB / max(secs, 1e-9), actual,
             " (verified)" if md5 else " (not checked: no --md5 given)")
    return out


# --------------------------------------------------------------------------------------------
# Extraction


def _member_matches(name: str, wanted: str) -> bool:
    norm = name.removeprefix("./")
    wanted = wanted.removeprefix("./")
    return norm == wanted or ("/" not in wanted and norm.rsplit("/", 1)[-1] == wanted)


def _copy_to(src, out: Path, what: str, md5: str | None, progress_every: float,
             total: int | None = None) -> Path:
    """Stream ``src`` to ``out`` through a temporary file beside it; check ``md5``."""
    out, tmp = contracts.atomic_path(out)
    h = hashlib.md5()
    done = 0
    progress = _Progress(what, progress_every, total)
    try:
        with open(tmp, "wb") as f:
            while block := src.read(CHUNK):
                f.write(block)
                h.update(block)
                done += len(block)
                progress.update(done)
            f.flush()
            os.fsync(f.fileno())
        if md5 is not None and h.hexdigest() != md5:
            raise InputError(f"{what}: md5 mismatch: expected {md5}, got {h.hexdigest()} "
                             f"({done} bytes); nothing written to {out}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    progress.update(done, force=True)
    log.info("%s -> %s (%.1f MB, md5 %s)", what, out, done / MB, h.hexdigest())
    return out


_MAGIC = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}


def decompress(archive: str | os.PathLike, out: str | os.PathLike, md5: str | None = None,
               progress_every: float = 10.0) -> Path:
    """Decompress a single .gz/.bz2/.xz file to ``out`` atomically."""
    archive = Path(archive)
    if not archive.is_file():
        raise InputError(f"{archive}: no such file")
    with open(archive, "rb") as f:
        head = f.read(6)
    opener = next((op for magic, op in _MAGIC.items() if head.startswith(magic)), None)
    if opener is None:
        raise InputError(f"{archive}: not a gzip, bzip2 or xz file (give --member for a tar)")
    try:
        with opener(archive, "rb") as src:
            return _copy_to(src, Path(out), str(archive), _check_md5_arg(md5, str(archive)),
                            progress_every)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise InputError(f"{archive}: corrupt or truncated compressed file: {e}") from None


def extract(archive: str | os.PathLike, members: dict[str, str | os.PathLike],
            md5s: dict[str, str | None] | None = None, progress_every: float = 10.0
            ) -> dict[str, Path]:
    """Stream the named ``members`` of a tar(.gz/.bz2/.xz) ``archive`` to their paths.

    ``members`` maps a member name to its output path; ``md5s`` optionally maps a member name
    to the expected MD5 of its content. One sequential pass over the archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise InputError(f"{archive}: no such file")
    md5s = {k: _check_md5_arg(v, f"{archive}:{k}") for k, v in (md5s or {}).items()}
    pending = dict(members)
    done: dict[str, Path] = {}
    seen: list[str] = []
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for ti in tar:
                seen.append(ti.name)
                hit = next((m for m in pending if _member_matches(ti.name, m)), None)
                if hit is None:
                    continue
                if not ti.isfile():
                    raise InputError(f"{archive}: member {ti.name!r} is not a regular file")
                src = tar.extractfile(ti)
                done[hit] = _copy_to(src, Path(pending.pop(hit)), f"{archive}:{ti.name}",
                                     md5s.get(hit), progress_every, ti.size)
                if not pending:
                    break
    except tarfile.ReadError as e:
        raise InputError(f"{archive}: not a readable tar archive ({e})") from None
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as e:
        raise InputError(f"{archive}: cannot extract (corrupt or truncated archive?): {e}") from None
    if pending:
        shown = ", ".join(seen[:20]) + (f", ... ({len(seen)} in all)" if len(seen) > 20 else "")
        raise InputError(f"{archive}: no member {sorted(pending)} in the archive "
                         f"(members: {shown or 'none'})")
    return done


# --------------------------------------------------------------------------------------------
# Command line


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise InputError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _download_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m dualrank.data.download", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--md5", default=None, help="expected MD5 (hex); strongly recommended")
    p.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    p.add_argument("--retries", type=int, default=8)
    p.add_argument("--backoff", type=float, default=2.0, help="first retry wait, seconds")
    p.add_argument("--timeout", type=float, default=60.0, help="socket timeout, seconds")
    p.add_argument("--progress-every", type=float, default=10.0, help="seconds between logs")
    a = p.parse_args(argv)
    if a.md5 is not None and a.md5.strip().lower() in ("", "null", "none"):
        a.md5 = None
    download(a.url, a.out, a.md5, retries=a.retries, backoff=a.backoff, timeout=a.timeout,
             headers=dict(_parse_header(h) for h in a.header), progress_every=a.progress_every)


def _extract_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m dualrank.data.download extract",
                                description="Stream archive members (or decompress a .gz).")
    p.add_argument("--archive", required=True)
    p.add_argument("--member", action="append", default=[],
                   help="member to extract (repeatable, paired in order with --out)")
    p.add_argument("--out", action="append", required=True)
    p.add_argument("--md5", action="append", default=[],
                   help="expected MD5 of each extracted file (optional, paired with --out)")
    p.add_argument("--progress-every", type=float, default=10.0)
    a = p.parse_args(argv)
    md5s = [None if m.strip().lower() in ("", "null", "none") else m for m in a.md5]
    if a.md5 and len(md5s) != len(a.out):
        raise InputError(f"{a.archive}: {len(md5s)} --md5 for {len(a.out)} --out")
    # An empty --member (a config entry with `member: null`) means "decompress the file".
    if all(m.strip().lower() in ("", "null", "none") for m in a.member):
        if len(a.out) != 1:
            raise InputError(f"{a.archive}: decompression takes one --out (got {len(a.out)})")
        decompress(a.archive, a.out[0], md5s[0] if md5s else None, a.progress_every)
        return
    if len(a.member) != len(a.out):
        raise InputError(f"{a.archive}: {len(a.member)} --member for {len(a.out)} --out")
    if len(set(a.member)) != len(a.member):
        raise InputError(f"{a.archive}: a --member is repeated: {a.member}")
    extract(a.archive, dict(zip(a.member, a.out)),
            dict(zip(a.member, md5s)) if md5s else None, a.progress_every)


def main(argv: list[str] | None = None) -> None:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "extract":
        _extract_main(argv[1:])
    else:
        _download_main(argv[1:] if argv and argv[0] == "fetch" else argv)


if __name__ == "__main__":
    entry_point(main)()
