"""Checked, resumable downloads of the upstream data files (standard library only: urllib).

The command line is ``dualrank download --url URL [--md5 HEX] --out PATH [--header 'Name: value']``
(:mod:`dualrank.cli.download`); archive members are taken out by :mod:`dualrank.data.extract`.

* The bytes go to ``PATH.part`` (beside ``PATH``, never at it); ``PATH.part.meta`` remembers the
  URL and the server's validator (ETag or Last-Modified). A killed or failed download resumes
  from the bytes already there with ``Range: bytes=N-`` (and ``If-Range``, so a file that
  changed upstream is fetched whole again); a server that ignores ranges (answers 200) makes it
  start over.
* Connection errors, timeouts, truncated bodies and HTTP 408/429/5xx are retried with
  exponential backoff; an attempt that received new bytes resets the failure count, so a long
  download over a flaky link keeps going. Each failed attempt is logged (stderr) as attempt
  n/N with the wait and the time left in the retry budget. Other HTTP errors (404, 403, ...)
  fail at once.
* The MD5 is computed while streaming (the bytes of a resumed ``.part`` are hashed once) and
  checked before the final atomic rename. A mismatch is final: the bytes are kept for
  inspection at ``PATH.md5-mismatch`` (with ``PATH.md5-mismatch.json``: URL, expected and
  actual checksums), a :class:`DownloadError` (an :class:`~dualrank.data.io.InputError`) says
  so, and nothing is left at ``PATH``. A rerun for the same URL and MD5 (Snakemake's
  ``retries``) refuses at once with the same message instead of fetching gigabytes again;
  fixing the MD5 in the config, or deleting the kept file, downloads anew. Without ``--md5``
  the computed checksum is logged so that it can be pinned in config.yaml.
* If ``PATH`` already exists with the expected MD5 nothing is fetched.
* Progress is logged every ``--progress-every`` seconds (MB, percent, MB/s).
* ``file://`` URLs work the same way (used by the tests and for local mirrors).
* Azure hosts (``*.windows.net``, where MS MARCO lives) get ``X-Ms-Version: 2019-12-12``
  unless given otherwise: without it Azure serves large blobs with an old API version that
  breaks ranged and large downloads (ir_datasets sends the same header).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from dualrank.data.io import InputError, write_text

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


def check_md5(md5: str | None, where: str) -> str | None:
    if md5 is None:
        return None
    md5 = md5.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", md5):
        raise InputError(f"{where}: md5 {md5!r} is not 32 hexadecimal digits")
    return md5


def _part_paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".part"), out.with_name(out.name + ".part.meta")


def _bad_paths(out: Path) -> tuple[Path, Path]:
    """Where a download that failed its MD5 is kept, and the note of what it failed."""
    return out.with_name(out.name + ".md5-mismatch"), out.with_name(out.name + ".md5-mismatch.json")


def _mismatch_error(url: str, out: Path, note: dict) -> DownloadError:
    bad, _ = _bad_paths(out)
    head = (f"{url}: md5 mismatch: expected {note['expected']}, got {note['actual']} ({note['size']} bytes); "
            f"the bytes are kept for inspection at {bad}, nothing is written to {out}. ")
    if note.get("resumed"):  # the earlier run's bytes may be the bad ones: one whole fetch more
        return DownloadError(head + f"They resumed {note['resumed']} bytes of an earlier run: the next run "
                             "downloads the whole file again")
    return DownloadError(head + f"This is final: a rerun refuses at once. Correct the md5 in the config "
                         f"(or the URL), or delete {bad} to download again")


def _refuse_known_mismatch(url: str, out: Path, md5: str | None) -> None:
    """A rerun (Snakemake's retry) of a download whose bytes already failed this MD5 refuses at
    once with the first failure's message."""
    bad, note_path = _bad_paths(out)
    note = _read_meta(note_path)
    if (md5 is not None and bad.exists() and note.get("url") == url and note.get("expected") == md5
            and not note.get("resumed")):
        raise _mismatch_error(url, out, note)


def _keep_mismatch(url: str, out: Path, part: Path, meta: Path, note: dict) -> DownloadError:
    bad, note_path = _bad_paths(out)
    os.replace(part, bad)
    meta.unlink(missing_ok=True)
    write_text(note_path, json.dumps({"url": url, **note}))
    return _mismatch_error(url, out, note)


def _read_meta(meta: Path) -> dict:
    try:
        return json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}


def _write_meta(meta: Path, data: dict) -> None:
    write_text(meta, json.dumps(data))


class Progress:
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
    progress = Progress(url, progress_every, total, start)
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
    md5 = check_md5(md5, url)
    out.parent.mkdir(parents=True, exist_ok=True)
    part, meta = _part_paths(out)
    _refuse_known_mismatch(url, out, md5)

    if out.exists() and md5 is not None:
        if md5_file(out) == md5:
            log.info("%s: already present with md5 %s", out, md5)
            return out
        log.info("%s: exists but its md5 differs from %s; downloading again", out, md5)

    info = _read_meta(meta)
    if part.exists() and info.get("url") != url:
        log.info("%s: discarding a partial download of another URL (%s)", part, info.get("url"))
        part.unlink()
    t0 = time.monotonic()
    first_offset = part.stat().st_size if part.exists() else 0
    attempt = dict(headers=dict(headers or {}), timeout=timeout, progress_every=progress_every)
    size, hasher_state = _fetch(url, part, meta, attempt, retries, backoff, max_backoff)

    actual = hasher_state["h"].hexdigest()
    if hasher_state["n"] != size:  # cannot happen, but never trust a stale hash
        actual = md5_file(part)
    if md5 is not None and actual != md5:
        raise _keep_mismatch(url, out, part, meta, {"expected": md5, "actual": actual, "size": size,
                                                    "resumed": first_offset})
    # Not atomic_output: the .part outlives a failed run, so that the next one resumes it.
    os.replace(part, out)
    meta.unlink(missing_ok=True)
    for stale in _bad_paths(out):  # an earlier mismatch, of another expected md5
        stale.unlink(missing_ok=True)
    secs = time.monotonic() - t0
    log.info("%s -> %s: %.1f MB in %.1f s (%.2f MB/s), md5 %s%s", url, out, size / MB, secs,
             (size - first_offset) / MB / max(secs, 1e-9), actual,
             " (verified)" if md5 else " (not checked: no --md5 given)")
    return out


def _fetch(url: str, part: Path, meta: Path, attempt: dict, retries: int, backoff: float,
           max_backoff: float) -> tuple[int, dict]:
    """Attempt after attempt until ``part`` holds the whole file; its size and running MD5."""
    hasher_state = {"h": hashlib.md5(), "n": 0}
    failures = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if hasher_state["n"] != offset:  # resuming bytes this process has not hashed
            hasher_state["h"] = hashlib.md5()
            if offset:
                log.info("%s: resuming after %.1f MB already in %s", url, offset / MB, part)
                md5_file(part, hasher_state["h"])
            hasher_state["n"] = offset
        try:
            return _attempt(url, part, meta, offset, hasher_state, **attempt), hasher_state
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
            left = _budget_left(failures, retries, backoff, max_backoff, attempt["timeout"])
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.1f s, at most %.0f s left in the retry "
                        "budget", url, failures, retries + 1, e, wait, left)
            time.sleep(wait)
            continue
        if failures > retries:
            raise DownloadError(f"{url}: giving up after {retries} restarts")


def _budget_left(failures: int, retries: int, backoff: float, max_backoff: float, timeout: float) -> float:
    """The longest the remaining attempts may take after attempt ``failures`` failed: their
    waits plus a socket timeout each (a stalled attempt ends at the timeout)."""
    waits = sum(min(backoff * 2 ** max(k - 1, 0), max_backoff) for k in range(failures, retries + 1))
    return waits + (retries + 1 - failures) * timeout
