"""dualrank.data.download and .extract, and their commands, against a local HTTP server (a thread
on 127.0.0.1, random port)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dualrank.cli import download as download_cli
from dualrank.cli import extract as extract_cli
from dualrank.data import download as dl
from dualrank.data import extract as ex
from dualrank.data.io import InputError

from conftest import write_tar

DATA = bytes((i * 7919 + (i >> 8)) % 251 for i in range(200_000))
MD5 = hashlib.md5(DATA).hexdigest()
FAST = {"backoff": 0.01, "timeout": 5.0, "progress_every": 0.0}


@dataclass
class State:
    data: bytes = DATA
    etag: str = '"v1"'
    ranges: bool = True  # honour Range requests
    # One entry per request, in order: ("cut", n) closes the connection after n body bytes,
    # ("status", code) answers that HTTP error; requests beyond the script are served normally.
    script: list[tuple[str, int]] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        st: State = self.server.state
        st.requests.append({k: v for k, v in self.headers.items()})
        if self.path != "/file.bin":
            self.send_error(404, "Not Found")
            return
        action, arg = st.script.pop(0) if st.script else (None, 0)
        if action == "status":
            self.send_error(arg)
            return
        data, start = st.data, 0
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        if rng and st.ranges and (if_range is None or if_range == st.etag):
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", st.etag)
        self.end_headers()
        if action == "cut":
            self.wfile.write(body[:arg])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.state = State()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/file.bin"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


# --------------------------------------------------------------------------------------------
# Downloads


def test_plain_download_verifies_md5(server, tmp_path):
    out = tmp_path / "sub" / "file.bin"
    assert dl.download(server.url, out, MD5, **FAST) == out
    assert out.read_bytes() == DATA
    assert _leftovers(out) == ["file.bin"]  # no .part, no .part.meta
    assert len(server.state.requests) == 1
    assert "Range" not in server.state.requests[0]


def test_md5_mismatch_names_url_and_checksums_and_leaves_nothing(server, tmp_path):
    out = tmp_path / "file.bin"
    wrong = "0" * 32
    with pytest.raises(dl.DownloadError) as e:
        dl.download(server.url, out, wrong, **FAST)
    msg = str(e.value)
    assert server.url in msg and wrong in msg and MD5 in msg
    assert isinstance(e.value, InputError)
    # Nothing at out; the bytes are kept aside, named in the message, and the failure is final.
    assert _leftovers(out) == ["file.bin.md5-mismatch", "file.bin.md5-mismatch.json"]
    assert f"kept for inspection at {out}.md5-mismatch" in msg and "final" in msg
    assert (tmp_path / "file.bin.md5-mismatch").read_bytes() == DATA
    n = len(server.state.requests)
    with pytest.raises(dl.DownloadError) as again:  # Snakemake's retry: refused, nothing fetched
        dl.download(server.url, out, wrong, **FAST)
    assert str(again.value) == msg and len(server.state.requests) == n
    dl.download(server.url, out, MD5, **FAST)  # the md5 corrected: downloaded, the kept bytes go
    assert _leftovers(out) == ["file.bin"] and out.read_bytes() == DATA


def test_connection_retries_log_each_attempt_and_the_time_left(tmp_path, caplog):
    import socket

    with socket.socket() as s:  # a port nothing listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level("WARNING", logger="dualrank.data.download")
    with pytest.raises(dl.DownloadError, match="giving up after 2 retries"):
        dl.download(f"http://127.0.0.1:{port}/x.tsv", tmp_path / "x.tsv", retries=2, backoff=0.01, timeout=1.0)
    attempts = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert [m.split("attempt ")[1].split(" ")[0] for m in attempts] == ["1/3", "2/3"]
    # Left after attempt 1: waits 0.01 + 0.02 and two attempts of at most 1 s; after 2: 0.02 + 1.
    assert "at most 2 s left" in attempts[0] and "at most 1 s left" in attempts[1], attempts


def test_interrupted_download_resumes_with_range(server, tmp_path):
    server.state.script = [("cut", 70_000)]  # the first response dies after 70 kB
    out = tmp_path / "file.bin"
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA
    first, second = server.state.requests
    assert "Range" not in first
    assert second["Range"] == "bytes=70000-"
    assert second["If-Range"] == '"v1"'
    assert _leftovers(out) == ["file.bin"]


def test_several_interruptions_each_resume(server, tmp_path):
    server.state.script = [("cut", 10_000)] * 3
    out = tmp_path / "file.bin"
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA
    assert [r.get("Range") for r in server.state.requests] == [
        None, "bytes=10000-", "bytes=20000-", "bytes=30000-"]


def test_server_without_range_support_restarts(server, tmp_path):
    server.state.ranges = False
    server.state.script = [("cut", 50_000)]
    out = tmp_path / "file.bin"
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA  # not the first 50 kB twice
    assert server.state.requests[1]["Range"] == "bytes=50000-"  # asked, got a 200


def test_killed_run_resumes_in_a_new_call(server, tmp_path):
    # The first response dies after 123456 bytes, the retry gets a 403: the run fails for good.
    server.state.script = [("cut", 123_456), ("status", 403)]
    out = tmp_path / "file.bin"
    with pytest.raises(dl.DownloadError, match="403"):
        dl.download(server.url, out, MD5, **FAST)
    part = tmp_path / "file.bin.part"
    assert not out.exists() and part.stat().st_size == 123_456
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA
    assert server.state.requests[-1]["Range"] == "bytes=123456-"
    assert _leftovers(out) == ["file.bin"]


def test_complete_part_is_verified_and_renamed(server, tmp_path):
    out = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(DATA)
    (tmp_path / "file.bin.part.meta").write_text(json.dumps({"url": server.url}))
    dl.download(server.url, out, MD5, **FAST)  # server answers 416 to bytes=200000-
    assert out.read_bytes() == DATA
    assert _leftovers(out) == ["file.bin"]


def test_corrupt_part_is_caught_by_md5_and_removed(server, tmp_path):
    out = tmp_path / "file.bin"
    part = tmp_path / "file.bin.part"
    part.write_bytes(b"x" * 1000)  # wrong bytes, resumed from byte 1000
    (tmp_path / "file.bin.part.meta").write_text(json.dumps({"url": server.url}))
    with pytest.raises(dl.DownloadError, match=f"expected {MD5}.*resumed 1000 bytes of an earlier run"):
        dl.download(server.url, out, MD5, **FAST)
    assert _leftovers(out) == ["file.bin.md5-mismatch", "file.bin.md5-mismatch.json"]
    dl.download(server.url, out, MD5, **FAST)  # the next run starts clean (not final: resumed bytes)
    assert out.read_bytes() == DATA


def test_changed_upstream_file_is_fetched_whole(server, tmp_path):
    out = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(b"old version" * 100)
    (tmp_path / "file.bin.part.meta").write_text(
        json.dumps({"url": server.url, "validator": '"v0"'}))
    dl.download(server.url, out, MD5, **FAST)  # If-Range "v0" != "v1": server sends 200
    assert out.read_bytes() == DATA


def test_partial_of_another_url_is_discarded(server, tmp_path):
    out = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(b"z" * 5000)
    (tmp_path / "file.bin.part.meta").write_text(json.dumps({"url": "http://elsewhere/x"}))
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA
    assert "Range" not in server.state.requests[0]


def test_transient_http_errors_are_retried(server, tmp_path):
    server.state.script = [("status", 503), ("status", 502)]
    out = tmp_path / "file.bin"
    dl.download(server.url, out, MD5, **FAST)
    assert out.read_bytes() == DATA
    assert len(server.state.requests) == 3


def test_http_404_fails_at_once(server, tmp_path):
    out = tmp_path / "file.bin"
    url = server.url.replace("file.bin", "missing.bin")
    with pytest.raises(dl.DownloadError, match="404"):
        dl.download(url, out, MD5, **FAST)
    assert len(server.state.requests) == 1
    assert _leftovers(out) == []


def test_connection_refused_retries_then_gives_up(tmp_path):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dl.DownloadError, match="giving up after 2 retries"):
        dl.download(f"http://127.0.0.1:{port}/f", tmp_path / "f", retries=2, **FAST)


def test_existing_output_with_right_md5_is_not_fetched(server, tmp_path):
    out = tmp_path / "file.bin"
    out.write_bytes(DATA)
    dl.download(server.url, out, MD5, **FAST)
    assert server.state.requests == []


def test_no_md5_downloads_and_logs_checksum(server, tmp_path, caplog):
    out = tmp_path / "file.bin"
    with caplog.at_level("INFO", logger="dualrank.data.download"):
        dl.download(server.url, out, None, **FAST)
    assert out.read_bytes() == DATA
    assert MD5 in caplog.text and "MB/s" in caplog.text


def test_file_url_and_its_resume(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(DATA)
    out = tmp_path / "out" / "copy.bin"
    dl.download(src.as_uri(), out, MD5, **FAST)
    assert out.read_bytes() == DATA
    out.unlink()
    part = out.with_name("copy.bin.part")
    part.write_bytes(DATA[:77_777])
    st = src.stat()
    out.with_name("copy.bin.part.meta").write_text(json.dumps(
        {"url": src.as_uri(), "validator": f"mtime:{st.st_mtime_ns}:{st.st_size}"}))
    dl.download(src.as_uri(), out, MD5, **FAST)
    assert out.read_bytes() == DATA
    with pytest.raises(dl.DownloadError, match="no such file"):
        dl.download((tmp_path / "nope").as_uri(), tmp_path / "n", **FAST)


def test_bad_md5_argument():
    with pytest.raises(InputError, match="32 hexadecimal"):
        dl.download("file:///x", "/tmp/never", "abc")


def test_cli_download_and_exit_code(server, tmp_path):
    out = tmp_path / "cli.bin"
    cli = download_cli.main
    cli(["--url", server.url, "--md5", MD5.upper(), "--out", str(out), "--backoff", "0.01",
         "--header", "X-Test: 1"])
    cli(["--url", server.url, "--md5", "", "--out", str(tmp_path / "nomd5.bin")])  # md5: null
    assert (tmp_path / "nomd5.bin").read_bytes() == DATA
    assert out.read_bytes() == DATA
    assert server.state.requests[0]["X-Test"] == "1"
    assert server.state.requests[0]["User-Agent"].startswith("dualrank-download")
    with pytest.raises(SystemExit) as e:
        cli(["--url", server.url, "--md5", "f" * 32, "--out", str(tmp_path / "bad.bin")])
    assert e.value.code == 2
    assert not (tmp_path / "bad.bin").exists()


# --------------------------------------------------------------------------------------------
# Extraction


_tar = write_tar


def test_extract_member_by_path_or_basename(tmp_path):
    arc = _tar(tmp_path / "a.tar.gz", {"./collectionandqueries/collection.tsv": DATA,
                                       "qrels.dev.small.tsv": b"1\t0\t2\t1\n"})
    out = tmp_path / "x" / "collection.tsv"
    ex.extract(arc, {"collection.tsv": out})
    assert out.read_bytes() == DATA
    ex.extract(arc, {"collectionandqueries/collection.tsv": tmp_path / "c2",
                     "./qrels.dev.small.tsv": tmp_path / "q"},
               md5s={"collectionandqueries/collection.tsv": MD5})
    assert (tmp_path / "c2").read_bytes() == DATA
    assert (tmp_path / "q").read_bytes() == b"1\t0\t2\t1\n"
    assert not list(tmp_path.glob("**/*.tmp"))


def test_extract_missing_member_lists_members(tmp_path):
    arc = _tar(tmp_path / "a.tar", {"top1000.dev": b"1\t2\tq\tp\n"}, mode="w")
    with pytest.raises(InputError, match=r"no member \['top1000.eval'\].*top1000.dev"):
        ex.extract(arc, {"top1000.eval": tmp_path / "o"})
    assert not (tmp_path / "o").exists()


def test_extract_md5_mismatch_leaves_nothing(tmp_path):
    arc = _tar(tmp_path / "a.tar.gz", {"f.tsv": DATA})
    with pytest.raises(InputError, match="md5 mismatch"):
        ex.extract(arc, {"f.tsv": tmp_path / "o" / "f.tsv"}, md5s={"f.tsv": "0" * 32})
    assert list((tmp_path / "o").iterdir()) == []


def test_extract_truncated_archive(tmp_path):
    arc = _tar(tmp_path / "a.tar.gz", {"f.tsv": DATA})
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[: arc.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.tar.gz"):
        ex.extract(cut, {"f.tsv": tmp_path / "o"})
    assert not (tmp_path / "o").exists()


def test_decompress_plain_gz(tmp_path):
    gz = tmp_path / "q.tsv.gz"
    gz.write_bytes(gzip.compress(DATA))
    ex.decompress(gz, tmp_path / "q.tsv", MD5)
    assert (tmp_path / "q.tsv").read_bytes() == DATA
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(DATA)[:-20])
    with pytest.raises(InputError, match="bad.gz"):
        ex.decompress(bad, tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()
    with pytest.raises(InputError, match="not a gzip"):
        ex.decompress(tmp_path / "q.tsv", tmp_path / "r")


def test_cli_extract(tmp_path):
    arc = _tar(tmp_path / "t.tar.gz", {"triples.train.small.tsv": DATA, "b": b"b"})
    cli = extract_cli.main
    cli(["--archive", str(arc), "--member", "triples.train.small.tsv",
         "--out", str(tmp_path / "t.tsv"), "--md5", MD5])
    assert (tmp_path / "t.tsv").read_bytes() == DATA
    gz = tmp_path / "q.gz"
    gz.write_bytes(gzip.compress(b"hello\n"))
    cli(["--archive", str(gz), "--out", str(tmp_path / "q")])
    assert (tmp_path / "q").read_bytes() == b"hello\n"
    # `member: null` in config.yaml reaches the command line as an empty --member.
    cli(["--archive", str(gz), "--member", "", "--out", str(tmp_path / "q2")])
    assert (tmp_path / "q2").read_bytes() == b"hello\n"
    with pytest.raises(SystemExit) as e:
        cli(["--archive", str(arc), "--member", "nope", "--out", str(tmp_path / "n")])
    assert e.value.code == 2
