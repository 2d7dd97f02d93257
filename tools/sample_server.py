"""Real-format samples of every upstream file, served over HTTP on the loopback interface.

    python -m tools.sample_server --root DIR [--port 8765] [--shared ../shared]
        [--write-preset workflow/presets/real-sample.yaml]

builds DIR (once; ``--rebuild`` to force) from the real samples in ``shared/data`` and serves it
on ``http://127.0.0.1:PORT/`` (GET and HEAD, byte ranges with ETag / If-Range, so a download
resumes as it would from the real hosts). ``workflow/presets/real-sample.yaml`` points every
download of config.yaml at these files, with their md5: the pipeline's own download, extract,
prepare, candidate, teacher, aggregation and evaluation stages then run on them unchanged::

    python -m tools.sample_server --root /tmp/dualrank-sample &
    snakemake --cores 2 --configfile=workflow/presets/real-sample.yaml -- results/runs/msmarco/bm25/metrics.json

The build is deterministic (tar and gzip headers carry no time stamps), so the md5s in the
preset hold for every build with the same zlib; ``--write-preset`` rewrites the preset.

What each served file is, in the exact upstream format (URL path: content):

* ``msmarcoranking/collectionandqueries.tar.gz``: ``collection.tsv`` (``pid<TAB>text``, by
  pid) holding every pid that any served file names: the 4,103 DL19 passages with real text
  (``dl19-passage-relevant-text``), the 146 passages of the 100 triples, and the pids of the
  dev and DL19 qrels and runs, whose text the samples lack: those lines have an **empty** text
  (a valid collection line; BM25 skips them as Anserini does). ``queries.dev.small.tsv`` and
  ``qrels.dev.small.tsv`` are pygaggle's 105-query dev-small subset (114 qrels) -- the queries
  of the BM25 run we have -- rather than all 6,980 queries.
* ``msmarcoranking/queries.tar.gz``: ``queries.train.tsv`` (the 100 triples' queries) and
  ``queries.dev.tsv``: the 105 dev queries and, standing for the dev queries outside dev-small
  (the held-out valid split is drawn from them), the first 40 other queries of Anserini's
  dev-small topics (``msmarco-dev-small-topics-qrels``: real ids, texts and judgements).
* ``msmarcoranking/qrels.dev.small.tsv``, ``qrels.dev.tsv`` (the qrels of those 145 dev
  queries, tab-separated as MS MARCO's), ``qrels.train.tsv`` (the triples' positives).
* ``msmarcoranking/top1000.dev.tar.gz``: ``top1000.dev`` (``qid<TAB>pid<TAB>query<TAB>passage``)
  from the 105-query Anserini BM25 top-1000 run, in rank order.
* ``msmarcoranking/triples.train.small.tar.gz``: ``triples.train.small.tsv``, the real first 100
  lines.
* ``msmarcoranking/msmarco-test2019-queries.tsv.gz`` (the 200 DL19 test queries, byte for byte),
  ``trec/2019qrels-pass.txt`` (byte-identical to NIST's: same md5 as config.yaml's), and
  ``msmarcoranking/msmarco-passagetest2019-top1000.tsv.gz`` from the Anserini BM25 top-100
  run of the 43 judged queries (the real file has the top-1000 of all 200), in rank order.
* ``dpr/biencoder-nq-{train,dev}.json.gz``: the 5 NQ dev questions of ``nq-dpr`` as they are
  (the only DPR sample there is, so train and dev are the same 5 questions; the preset holds
  ``NQ_VALID`` of them out of training as the valid split), and
  ``dpr/psgs_w100.tsv.gz`` (header ``id<TAB>text<TAB>title``, csv-quoted as DPR's) holding
  their 751 distinct passages.
* ``zenodo/bertbase_cat_msmarcopassage_train_scores_ids.tsv``: the published T1 format
  (``pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid``) for the 100 triples. The triples
  file has no ids, so ids are assigned here: query ids 9000000 + i (i = order of first
  appearance; real MS MARCO query ids stay below 1.2M), passage ids the real pid when the text
  is a DL19 passage's, else 8841823 + j (past the real collection's last pid, 8841822). The
  **scores are synthetic** (seeded normal draws, positives higher): no real T1 score of these
  triples is available offline.

``MANIFEST.json`` in DIR lists every file with its md5 and size, and the row counts that the
prepared tables must have.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import email.utils
import gzip
import hashlib
import io
import json
import logging
import os
import re
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from dualrank.data.io import atomic_output, write_text

log = logging.getLogger("dualrank.sample_server")

DEFAULT_PORT = 8765
FIRST_NEW_PID = 8_841_823
DEV_OUTSIDE = 40  # dev queries outside the served dev-small (the valid split's source)
NQ_VALID = 2  # of the 5 NQ training questions, held out as the valid split
FIRST_TRAIN_QID = 9_000_000
MANIFEST = "MANIFEST.json"
ROOT = Path(__file__).resolve().parents[1]  # the repository
PRESET = ROOT / "workflow" / "presets" / "real-sample.yaml"


def default_shared() -> Path:
    env = os.environ.get("DUALRANK_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


# --------------------------------------------------------------------------------------------
# Building the served files


def _lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8")
    return [line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r")]


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


def _targz(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return _gzip(buf.getvalue())


def _tsv(rows) -> bytes:
    return "".join("\t".join(map(str, r)) + "\n" for r in rows).encode("utf-8")


def build(root: str | os.PathLike, shared: str | os.PathLike | None = None) -> dict:
    """Write the served files under ``root`` from ``shared/data``; returns the manifest."""
    root = Path(root)
    data = Path(shared or default_shared()) / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: the real samples (shared/data) are not there; set DUALRANK_SHARED")
    # MS MARCO passages with real text: the DL19 relevant passages (then the triples' too).
    texts: dict[int, str] = {}
    for line in _lines(data / "dl19-passage-relevant-text/collection.dl19-rel.tsv"):
        pid, text = line.split("\t", 1)
        texts[int(pid)] = text
    train = _Triples(data, texts)
    files = train.files()
    dev, dl19 = _Dev(data), _Dl19(data)
    pids = _msmarco_eval_files(files, texts, dev, dl19, train)
    files["msmarcoranking/qrels.dev.small.tsv"] = dev.qrels_bytes
    files["msmarcoranking/qrels.dev.tsv"] = _tsv([*dev.qrels, *dev.outside_qrels])
    files["msmarcoranking/msmarco-test2019-queries.tsv.gz"] = _gzip(dl19.queries_bytes)
    files["trec/2019qrels-pass.txt"] = dl19.qrels_bytes
    nq_counts = _nq_files(files, data)
    counts = {
        "msmarco_corpus": len(pids),
        "msmarco_corpus_with_text": sum(1 for p in pids if texts.get(p)),
        "msmarco_train_queries": len(train.qid_of),
        "msmarco_triples": len(train.triples),
        "msmarco_triple_passages_new": train.next_pid - FIRST_NEW_PID,
        "msmarco_dev_queries": len(dev.queries),
        "msmarco_dev_qrels": len(dev.qrels),
        "msmarco_dev_candidates": len({(r[0], r[1]) for r in dev.run}),
        "msmarco_valid_queries": len(dev.outside),
        "msmarco_valid_qrels": len(dev.outside_qrels),
        "msmarco_dl19_queries": len(dl19.queries),
        "msmarco_dl19_qrels": len(dl19.qrels),
        "msmarco_dl19_candidates": len(dl19.run),
        **nq_counts,
    }
    return _write(root, files, counts)


class _Triples:
    """The first 100 training triples, with ids assigned (module doc): new passages are added
    to ``texts``."""

    PATH = "msmarco-train-triples-sample100/triples.train.small.first100.tsv"

    def __init__(self, data: Path, texts: dict[int, str]):
        self.raw = (data / self.PATH).read_bytes()
        self.triples = [line.split("\t") for line in _lines(data / self.PATH)]
        by_text = {t: p for p, t in texts.items()}
        self.qid_of: dict[str, int] = {}
        self.next_pid = FIRST_NEW_PID
        self.ids = []
        for query, pos, neg in self.triples:
            qid = self.qid_of.setdefault(query, FIRST_TRAIN_QID + len(self.qid_of))
            ids = []
            for text in (pos, neg):
                if text not in by_text:
                    by_text[text] = self.next_pid
                    texts[self.next_pid] = text
                    self.next_pid += 1
                ids.append(by_text[text])
            self.ids.append((qid, *ids))

    def files(self) -> dict[str, bytes]:
        """Teacher scores (synthetic: seeded normal draws, module doc), qrels and triples."""
        rng = np.random.default_rng(20200906)
        pos_s = rng.normal(6.0, 1.5, len(self.triples))
        neg_s = rng.normal(-1.0, 3.0, len(self.triples))
        scores = ((f"{p:.6f}", f"{n:.6f}", q, pp, npid) for (q, pp, npid), p, n in zip(self.ids, pos_s, neg_s))
        return {
            "zenodo/bertbase_cat_msmarcopassage_train_scores_ids.tsv": _tsv(scores),
            "msmarcoranking/qrels.train.tsv": _tsv(sorted({(q, 0, p, 1) for q, p, _ in self.ids})),
            "msmarcoranking/triples.train.small.tar.gz": _targz([("triples.train.small.tsv", self.raw)]),
        }

    def queries(self) -> list[tuple[int, str]]:
        return [(q, text) for text, q in self.qid_of.items()]


class _Dev:
    """Dev (small): pygaggle's 105-query subset and its Anserini BM25 top-1000, in rank order."""

    def __init__(self, data: Path):
        sub = data / "msmarco-dev-subset105-bm25"
        self.queries = dict(line.split("\t", 1) for line in _lines(sub / "queries.dev.small.tsv"))
        self.qrels = [line.split("\t") for line in _lines(sub / "qrels.dev.small.tsv")]
        self.qrels_bytes = (sub / "qrels.dev.small.tsv").read_bytes()
        self.run = [line.split("\t") for line in _lines(sub / "run.dev.small.tsv")]  # qid pid rank
        first = {q: i for i, q in enumerate(dict.fromkeys(r[0] for r in self.run))}
        self.run.sort(key=lambda r: (first[r[0]], int(r[2])))
        # Dev queries outside the served dev-small: real dev-small queries beyond the 105.
        topics = data / "msmarco-dev-small-topics-qrels"
        others = (line.split("\t", 1) for line in _lines(topics / "topics.msmarco-passage.dev-subset.txt"))
        self.outside = [(q, t) for q, t in others if q not in self.queries][:DEV_OUTSIDE]
        ids = {q for q, _ in self.outside}
        qrels = (line.split() for line in _lines(topics / "qrels.msmarco-passage.dev-subset.txt"))
        self.outside_qrels = [r for r in qrels if r[0] in ids]


class _Dl19:
    """DL19: 200 test queries, NIST qrels, BM25 top-100 of the 43 judged queries, in rank order."""

    def __init__(self, data: Path):
        dl = data / "dl19-passage-topics-qrels"
        self.queries_bytes = (dl / "msmarco-test2019-queries.200.tsv").read_bytes()
        self.queries = dict(line.split("\t", 1) for line in _lines(dl / "msmarco-test2019-queries.200.tsv"))
        self.qrels_bytes = (dl / "qrels.dl19-passage.txt").read_bytes()
        self.qrels = [line.split() for line in _lines(dl / "qrels.dl19-passage.txt")]
        run_file = data / "dl19-passage-bm25-top100-run/run.dl19-passage.bm25.top100.trec"
        self.run = [line.split() for line in _lines(run_file)]
        order = {q: i for i, q in enumerate(dict.fromkeys(r[0] for r in self.run))}
        self.run.sort(key=lambda r: (order[r[0]], int(r[3])))


def _msmarco_eval_files(files: dict[str, bytes], texts: dict[int, str], dev: _Dev, dl19: _Dl19,
                        train: _Triples) -> set[int]:
    """The collection (every pid named anywhere; empty text where the samples have none), the
    query archives and the candidate files; returns the collection's pids."""
    pids = set(texts)
    pids |= {int(r[2]) for r in dev.qrels} | {int(r[1]) for r in dev.run} | {int(r[2]) for r in dev.outside_qrels}
    pids |= {int(r[2]) for r in dl19.qrels} | {int(r[2]) for r in dl19.run}
    collection = _tsv((p, texts.get(p, "")) for p in sorted(pids))
    dev_small_queries = _tsv(dev.queries.items())
    files["msmarcoranking/collectionandqueries.tar.gz"] = _targz([
        ("collection.tsv", collection),
        ("queries.dev.small.tsv", dev_small_queries),
        ("qrels.dev.small.tsv", dev.qrels_bytes),
    ])
    files["msmarcoranking/queries.tar.gz"] = _targz([
        ("queries.train.tsv", _tsv(train.queries())),
        ("queries.dev.tsv", _tsv([*dev.queries.items(), *dev.outside])),
    ])
    files["msmarcoranking/top1000.dev.tar.gz"] = _targz([("top1000.dev", _tsv(
        (q, p, dev.queries[q], texts.get(int(p), "")) for q, p, _rank in dev.run))])
    files["msmarcoranking/msmarco-passagetest2019-top1000.tsv.gz"] = _gzip(_tsv(
        (r[0], r[2], dl19.queries[r[0]], texts.get(int(r[2]), "")) for r in dl19.run))
    return pids


_NQ_CTX_KEYS = ("positive_ctxs", "negative_ctxs", "hard_negative_ctxs")


def _nq_files(files: dict[str, bytes], data: Path) -> dict[str, int]:
    """NQ (DPR): the 5-question sample as train and dev, and its passages; returns the counts."""
    nq_json = (data / "nq-dpr/nq-dev-dpr-sample5.json").read_bytes()
    records = json.loads(nq_json)
    passages: dict[int, tuple[str, str]] = {}
    for rec in records:
        for key in _NQ_CTX_KEYS:
            for ctx in rec[key]:
                passages.setdefault(int(ctx["passage_id"]), (ctx["text"], ctx["title"]))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["id", "text", "title"])
    for pid in sorted(passages):
        w.writerow([pid, *passages[pid]])
    files["dpr/psgs_w100.tsv.gz"] = _gzip(buf.getvalue().encode("utf-8"))
    files["dpr/biencoder-nq-train.json.gz"] = _gzip(nq_json)
    files["dpr/biencoder-nq-dev.json.gz"] = _gzip(nq_json)
    nq_pairs = {(i, int(c["passage_id"])) for i, rec in enumerate(records) for key in _NQ_CTX_KEYS for c in rec[key]}
    return {"nq_passages": len(passages), "nq_questions": len(records), "nq_dev_candidates": len(nq_pairs)}


def _write(root: Path, files: dict[str, bytes], counts: dict[str, int]) -> dict:
    """The files under ``root``, and the manifest (their checksums, and the counts the prepared
    tables must have)."""
    root.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"files": {}, "counts": counts}
    for rel, blob in sorted(files.items()):
        with atomic_output(root / rel) as tmp:
            tmp.write_bytes(blob)
        manifest["files"][rel] = {"md5": hashlib.md5(blob).hexdigest(), "size": len(blob)}
    write_text(root / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def load_manifest(root: str | os.PathLike) -> dict:
    return json.loads((Path(root) / MANIFEST).read_text())


# --------------------------------------------------------------------------------------------
# The preset


# config.yaml download key -> (served path, tar member)
DOWNLOADS = {
    "msmarco": {
        "collection": ("msmarcoranking/collectionandqueries.tar.gz", "collection.tsv"),
        "queries_train": ("msmarcoranking/queries.tar.gz", "queries.train.tsv"),
        "queries_dev": ("msmarcoranking/collectionandqueries.tar.gz", "queries.dev.small.tsv"),
        "qrels_dev": ("msmarcoranking/qrels.dev.small.tsv", None),
        "qrels_train": ("msmarcoranking/qrels.train.tsv", None),
        "queries_dev_all": ("msmarcoranking/queries.tar.gz", "queries.dev.tsv"),
        "qrels_dev_all": ("msmarcoranking/qrels.dev.tsv", None),
        "top1000_dev": ("msmarcoranking/top1000.dev.tar.gz", "top1000.dev"),
        "triples_train_small": ("msmarcoranking/triples.train.small.tar.gz", "triples.train.small.tsv"),
        "queries_dl19": ("msmarcoranking/msmarco-test2019-queries.tsv.gz", None),
        "qrels_dl19": ("trec/2019qrels-pass.txt", None),
        "top1000_dl19": ("msmarcoranking/msmarco-passagetest2019-top1000.tsv.gz", None),
    },
    "nq": {
        "passages": ("dpr/psgs_w100.tsv.gz", None),
        "train": ("dpr/biencoder-nq-train.json.gz", None),
        "dev": ("dpr/biencoder-nq-dev.json.gz", None),
    },
    "teacher": {"t1": ("zenodo/bertbase_cat_msmarcopassage_train_scores_ids.tsv", None)},
}

PRESET_HEADER = """\
# Real-sample preset: the paper's config.yaml with every download served from 127.0.0.1 by
#   python -m tools.sample_server --root DIR --port {port}
# in the exact upstream formats, built from the real samples in ../shared/data (what each file
# holds, and which ids and scores are made up: tools/sample_server.py).
#   snakemake --cores 2 --configfile=workflow/presets/real-sample.yaml -- \\
#       data/msmarco/groups/teacher-k20.parquet results/runs/msmarco/bm25/metrics.json
# GENERATED (md5 and size of each served file) by
#   python -m tools.sample_server --root DIR --write-preset workflow/presets/real-sample.yaml
# tests/data/test_real_sample.py checks that it matches a fresh build. (The T2 ensemble teacher is
# not served: downloads.teacher.ensemble keeps its Zenodo URL.)
"""


def preset(port: int, manifest: dict) -> dict:
    """The config overlay pointing config.yaml's downloads at this server."""
    downloads: dict = {}
    for group, keys in DOWNLOADS.items():
        for key, (rel, member) in keys.items():
            f = manifest["files"][rel]
            spec = {"url": f"http://127.0.0.1:{port}/{rel}", "md5": f["md5"]}
            if member:
                spec["member"] = member
            spec["size"] = f["size"]
            downloads.setdefault(group, {})[key] = spec
    return {
        "bm25": {"k1": 0.9, "b": 0.4, "depth": 1000},
        "resources": {
            "train": {"gpu": 0, "threads": 2, "mem_mb": 4000, "runtime": 60},
            "score": {"gpu": 0, "threads": 2, "mem_mb": 4000, "runtime": 60},
            "index": {"gpu": 0, "threads": 2, "mem_mb": 4000, "runtime": 60},
            "cpu": {"threads": 2, "mem_mb": 4000, "runtime": 60},
        },
        # The 5 NQ questions are the whole training file: NQ_VALID of them are the valid split.
        "datasets": {"nq": {"prepare": {"valid": {"queries": NQ_VALID, "seed": 0}}}},
        "downloads": downloads,
    }


def write_preset(path: str | os.PathLike, port: int, manifest: dict) -> None:
    import yaml

    text = PRESET_HEADER.format(port=port) + "\n" + yaml.safe_dump(preset(port, manifest), sort_keys=False, width=120)
    write_text(path, text)


# --------------------------------------------------------------------------------------------
# Serving


class Handler(BaseHTTPRequestHandler):
    """Static files under ``server.root``: GET/HEAD, ``Range: bytes=N-[M]``, ETag, If-Range."""

    server_version = "dualrank-sample/1"

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)

    def _file(self) -> Path | None:
        rel = self.path.split("?", 1)[0].lstrip("/")
        root: Path = self.server.root
        path = (root / rel).resolve()
        if not rel or root.resolve() not in path.parents or not path.is_file() or path.name == MANIFEST:
            return None
        return path

    def do_HEAD(self):
        self._serve(head=True)

    def do_GET(self):
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = self._file()
        if path is None:
            self.send_error(404, "Not Found")
            return
        st = path.stat()
        size = st.st_size
        etag = f'"{st.st_mtime_ns:x}-{size:x}"'
        start, end = 0, size - 1
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        partial = False
        if rng and (if_range is None or if_range == etag):
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if m:
                start = int(m.group(1))
                if m.group(2):
                    end = min(int(m.group(2)), size - 1)
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                partial = True
        self.send_response(206 if partial else 200)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                block = f.read(min(1 << 20, left))
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)


def serve(root: str | os.PathLike, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A started server (in a daemon thread); ``server.port`` is the bound port. Call
    ``server.shutdown(); server.server_close()`` to stop it."""
    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    httpd.root = Path(root)
    httpd.port = httpd.server_address[1]
    httpd.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    httpd.thread.start()
    return httpd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="directory of the served files (built if absent)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--shared", help="the shared folder holding data/ (default: $DUALRANK_SHARED or ../shared)")
    p.add_argument("--rebuild", action="store_true", help="build the files even if DIR has a manifest")
    p.add_argument("--write-preset", metavar="FILE", help="write the preset overlay for --port and exit")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Path(a.root)
    if a.rebuild or not (root / MANIFEST).exists():
        log.info("building %s from %s", root, Path(a.shared or default_shared()) / "data")
        build(root, a.shared)
    manifest = load_manifest(root)
    if a.write_preset:
        write_preset(a.write_preset, a.port, manifest)
        log.info("wrote %s", a.write_preset)
        return 0
    httpd = serve(root, a.port)
    log.info("serving %s on http://127.0.0.1:%d/ (Ctrl-C to stop)", root, httpd.port)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
            httpd.thread.join()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
