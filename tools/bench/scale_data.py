"""Upstream-format MS MARCO and NQ files at a fraction of their real sizes, for the scale
rehearsal (:mod:`tools.bench.scale`), served like the real samples by :mod:`tools.sample_server`.

Every file the pipeline downloads is written in its exact upstream format (the same paths,
tar members and gzip layers as config.yaml's downloads, so ``sample_server.preset`` points the
pipeline at them), with these row counts at fraction ``f`` (each ``round(f x N)``):

* MS MARCO (``FULL``): the collection's 8,841,823 passages (pids 0..n-1), 808,731 training
  queries of which 502,939 are judged (``qrels.train.tsv``, one positive each), the T1 teacher
  file's 39,780,811 lines (``pos_score neg_score qid pos_pid neg_pid``; scores seeded normal
  draws, positives higher, as :mod:`tools.sample_server`'s), dev-small's 6,980 queries with one
  judged positive each and 1,000 ``top1000.dev`` candidates each (the positive among them),
  and the 101,093 queries of ``queries.dev.tsv`` of which 55,578 are judged (``qrels.dev.tsv``).
* NQ: DPR's 21,015,324 ``psgs_w100`` passages (ids 1..n, csv-quoted, header ``id text title``),
  58,880 training and 6,515 dev questions in DPR's biencoder JSON.

Kept fixed at every fraction (``FIXED``), because they cannot shrink with the corpus or are the
shape of one record: TREC DL19 (200 queries, 43 judged, 9,260 graded qrels, 1,000 candidates
for each judged query), the 1,000 candidates of a dev query, and a DPR record's contexts (2
positive, 50 random and 30 hard negative). ``triples.train.small`` (text triples, ~40 GB at
full size) is served as its first 100 lines only: the measured stages read the T1 file's ids.

The text is words drawn from a Zipf law over a made-up 50,000-word vocabulary, a deterministic
function of the passage or query id (so a passage's text is the same in every file naming it):
the rehearsal measures what each stage costs, not what it finds. Passages have 20-100 words
(MS MARCO's mean is about 56), NQ's 100 as DPR's, queries 3-10 words.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np

from dualrank.data.io import atomic_output, write_text

FULL = {
    "msmarco_passages": 8_841_823,
    "msmarco_train_queries": 808_731,
    "msmarco_train_judged": 502_939,
    "msmarco_triples": 39_780_811,
    "msmarco_dev_queries": 6_980,
    "msmarco_dev_all_queries": 101_093,
    "msmarco_dev_all_judged": 55_578,
    "nq_passages": 21_015_324,
    "nq_train_questions": 58_880,
    "nq_dev_questions": 6_515,
}
FIXED = {
    "dl19_queries": 200,
    "dl19_judged_queries": 43,
    "dl19_qrels": 9_260,
    "candidates_per_query": 1_000,
    "dpr_positive_ctxs": 2,
    "dpr_negative_ctxs": 50,
    "dpr_hard_negative_ctxs": 30,
}
VOCAB = 50_000
SEED = 20260101
TRAIN_QID, DEV_QID, DL19_QID = 1, 2_000_000, 3_000_000  # disjoint query id ranges
CHUNK = 50_000  # passages generated and written at a time


def sizes(fraction: float) -> dict[str, int]:
    """The row counts at ``fraction`` of the real sizes (module doc); refuses a fraction whose
    corpus cannot hold one query's 1,000 candidates."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction {fraction}: must be in (0, 1]")
    n = {k: max(1, round(fraction * v)) for k, v in FULL.items()}
    if n["msmarco_passages"] < 2 * FIXED["candidates_per_query"]:
        raise ValueError(f"fraction {fraction}: {n['msmarco_passages']} passages, fewer than twice the "
                         f"{FIXED['candidates_per_query']} candidates of a query")
    return {**n, **FIXED}


# --------------------------------------------------------------------------------------------
# Text: a deterministic function of (kind, id)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: uint64 -> well-mixed uint64 (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class Words:
    """Zipf-distributed words over a made-up vocabulary; ``texts(ids, salt, lo, hi)`` is a
    deterministic text of ``lo..hi`` words for each id."""

    def __init__(self, seed: int = SEED):
        rng = np.random.default_rng(seed)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        lengths = rng.integers(2, 11, VOCAB)
        vocab = {"".join(rng.choice(letters, n)) for n in lengths}
        self.vocab = np.array(sorted(vocab), dtype=object)
        rng.shuffle(self.vocab)
        weights = 1.0 / (np.arange(len(self.vocab)) + 2.7)  # Zipf-Mandelbrot, s = 1
        self.cdf = np.cumsum(weights) / weights.sum()

    def texts(self, ids: np.ndarray, salt: int, lo: int, hi: int) -> list[str]:
        ids = np.asarray(ids, dtype=np.uint64)
        with np.errstate(over="ignore"):
            base = _mix(ids * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt))
            n_words = lo + (base % np.uint64(hi - lo + 1)).astype(np.int64)
            pos = np.arange(hi, dtype=np.uint64)
            h = _mix(base[:, None] + pos[None, :] * np.uint64(0xD1B54A32D192ED03))
        u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        words = self.vocab[np.searchsorted(self.cdf, u)]
        return [" ".join(row[:k]) for row, k in zip(words, n_words)]


PASSAGE, QUERY, TITLE, NQ_PASSAGE = 1, 2, 3, 4  # salts


# --------------------------------------------------------------------------------------------
# Writing


def _tsv_lines(rows) -> str:
    return "".join("\t".join(map(str, r)) + "\n" for r in rows)


def _gzip_file(src: Path, dst: Path) -> None:
    # mtime 0 and no name: the same bytes for the same content; level 1: fast at 0.03 scale.
    with open(src, "rb") as f, atomic_output(dst) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as g:
        shutil.copyfileobj(f, g, 1 << 20)


def _targz_files(members: list[tuple[str, Path]], dst: Path) -> None:
    with atomic_output(dst) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as g, \
            tarfile.open(fileobj=g, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name, path in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = path.stat().st_size, 0, 0o644
            with open(path, "rb") as f:
                tar.addfile(info, f)


class Generator:
    """Writes the served files for one fraction under ``root`` (members first in ``root/.raw``)."""

    def __init__(self, root: str | os.PathLike, fraction: float):
        self.root, self.n = Path(root), sizes(fraction)
        self.raw = self.root / ".raw"
        self.words = Words()
        self.rng = np.random.default_rng(SEED + 1)

    def raw_file(self, name: str) -> Path:
        self.raw.mkdir(parents=True, exist_ok=True)
        return self.raw / name

    def write_raw(self, name: str, text: str) -> Path:
        path = self.raw_file(name)
        path.write_text(text, encoding="utf-8")
        return path

    def queries(self, qids: np.ndarray) -> list[str]:
        return self.words.texts(qids, QUERY, 3, 10)

    # ---- MS MARCO

    def collection(self) -> Path:
        path = self.raw_file("collection.tsv")
        with open(path, "w", encoding="utf-8") as f:
            for start in range(0, self.n["msmarco_passages"], CHUNK):
                pids = np.arange(start, min(start + CHUNK, self.n["msmarco_passages"]))
                f.write(_tsv_lines(zip(pids.tolist(), self.words.texts(pids, PASSAGE, 20, 100))))
        return path

    def msmarco(self) -> None:
        n, rng = self.n, self.rng
        n_p = n["msmarco_passages"]
        train = TRAIN_QID + np.arange(n["msmarco_train_queries"])
        judged = train[:min(n["msmarco_train_judged"], len(train))]
        positive = rng.integers(0, n_p, len(judged))
        dev_all = DEV_QID + np.arange(max(n["msmarco_dev_all_queries"], n["msmarco_dev_queries"]))
        dev = dev_all[:n["msmarco_dev_queries"]]
        dev_judged = dev_all[:max(n["msmarco_dev_all_judged"], len(dev))]
        dev_pos = rng.integers(0, n_p, len(dev_judged))
        collection = self.collection()
        qtrain = self.write_raw("queries.train.tsv", _tsv_lines(zip(train.tolist(), self.queries(train))))
        dev_text = self.queries(dev_all)
        qdev_all = self.write_raw("queries.dev.tsv", _tsv_lines(zip(dev_all.tolist(), dev_text)))
        qdev = self.write_raw("queries.dev.small.tsv", _tsv_lines(zip(dev.tolist(), dev_text[:len(dev)])))
        qrels_dev = self.write_raw("qrels.dev.small.tsv", _tsv_lines((q, 0, p, 1) for q, p in
                                                                     zip(dev.tolist(), dev_pos.tolist())))
        self.write_raw("qrels.dev.tsv", _tsv_lines((q, 0, p, 1) for q, p in zip(dev_judged.tolist(), dev_pos.tolist())))
        self.write_raw("qrels.train.tsv", _tsv_lines((q, 0, p, 1) for q, p in zip(judged.tolist(), positive.tolist())))
        _targz_files([("collection.tsv", collection), ("queries.dev.small.tsv", qdev),
                      ("qrels.dev.small.tsv", qrels_dev)], self.root / "msmarcoranking/collectionandqueries.tar.gz")
        _targz_files([("queries.train.tsv", qtrain), ("queries.dev.tsv", qdev_all)],
                     self.root / "msmarcoranking/queries.tar.gz")
        for name in ("qrels.dev.small.tsv", "qrels.dev.tsv", "qrels.train.tsv"):
            shutil.copyfile(self.raw / name, self.root / "msmarcoranking" / name)
        top = self.candidates("top1000.dev", dev, dev_text, dev_pos[:len(dev)], n_p)
        _targz_files([("top1000.dev", top)], self.root / "msmarcoranking/top1000.dev.tar.gz")
        self.teacher(judged, positive, n_p)
        self.dl19(n_p)

    def candidates(self, name: str, qids, texts, positives, n_p: int) -> Path:
        """``qid pid query passage`` lines: each query's positive among 1,000 distinct pids."""
        path = self.raw_file(name)
        depth = self.n["candidates_per_query"]
        with open(path, "w", encoding="utf-8") as f:
            for q, text, pos in zip(qids.tolist(), texts, positives.tolist()):
                pids = self.rng.choice(n_p, depth, replace=False)
                if pos not in pids:
                    pids[self.rng.integers(depth)] = pos
                f.write(_tsv_lines(zip([q] * depth, pids.tolist(), [text] * depth,
                                       self.words.texts(pids, PASSAGE, 20, 100))))
        return path

    def teacher(self, judged: np.ndarray, positive: np.ndarray, n_p: int) -> None:
        """The T1 file: one line per triple, queries in turn, a random negative each; and
        ``triples.train.small`` as its first 100 lines in text."""
        n_tri, rng = self.n["msmarco_triples"], self.rng
        path = self.root / "zenodo/bertbase_cat_msmarcopassage_train_scores_ids.tsv"
        first = None
        with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for start in range(0, n_tri, 1_000_000):
                i = np.arange(start, min(start + 1_000_000, n_tri)) % len(judged)
                pos_s, neg_s = rng.normal(6.0, 1.5, len(i)), rng.normal(-1.0, 3.0, len(i))
                neg = rng.integers(0, n_p, len(i))
                rows = list(zip(np.char.mod("%.6f", pos_s), np.char.mod("%.6f", neg_s),
                                judged[i].tolist(), positive[i].tolist(), neg.tolist()))
                first = first or rows[:100]
                f.write(_tsv_lines(rows))
        q, p, ng = (np.array([r[k] for r in first]) for k in (2, 3, 4))
        text = _tsv_lines(zip(self.queries(q), self.words.texts(p, PASSAGE, 20, 100),
                              self.words.texts(ng, PASSAGE, 20, 100)))
        _targz_files([("triples.train.small.tsv", self.write_raw("triples.train.small.tsv", text))],
                     self.root / "msmarcoranking/triples.train.small.tar.gz")

    def dl19(self, n_p: int) -> None:
        n = self.n
        qids = DL19_QID + np.arange(n["dl19_queries"])
        texts = self.queries(qids)
        self.write_raw("dl19-queries.tsv", _tsv_lines(zip(qids.tolist(), texts)))
        _gzip_file(self.raw / "dl19-queries.tsv", self.root / "msmarcoranking/msmarco-test2019-queries.tsv.gz")
        judged = qids[:n["dl19_judged_queries"]]
        per = np.diff(np.linspace(0, n["dl19_qrels"], len(judged) + 1).round().astype(int))
        lines, firsts = [], []
        for q, k in zip(judged.tolist(), per.tolist()):
            pids = self.rng.choice(n_p, k, replace=False)
            grades = self.rng.choice(4, k, p=[0.55, 0.25, 0.12, 0.08])
            grades[0] = 3
            firsts.append(int(pids[0]))
            lines += [f"{q} Q0 {p} {g}\n" for p, g in zip(pids.tolist(), grades.tolist())]
        with atomic_output(self.root / "trec/2019qrels-pass.txt") as tmp:
            tmp.write_text("".join(lines), encoding="utf-8")
        top = self.candidates("dl19-top1000.tsv", judged, texts[:len(judged)], np.array(firsts), n_p)
        _gzip_file(top, self.root / "msmarcoranking/msmarco-passagetest2019-top1000.tsv.gz")

    # ---- NQ (DPR)

    def nq(self) -> None:
        n = self.n
        n_p = n["nq_passages"]
        path = self.raw_file("psgs_w100.tsv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            w.writerow(["id", "text", "title"])
            for start in range(1, n_p + 1, CHUNK):
                ids = np.arange(start, min(start + CHUNK, n_p + 1))
                w.writerows(zip(ids.tolist(), self.words.texts(ids, NQ_PASSAGE, 100, 100),
                                self.words.texts(ids, TITLE, 1, 4)))
        _gzip_file(path, self.root / "dpr/psgs_w100.tsv.gz")
        self.dpr_json("train", 10_000_000, n["nq_train_questions"], n_p)
        self.dpr_json("dev", 20_000_000, n["nq_dev_questions"], n_p)

    def dpr_json(self, split: str, first_id: int, n_q: int, n_p: int) -> None:
        n, words = self.n, self.words
        keys = ("positive_ctxs", "negative_ctxs", "hard_negative_ctxs")
        per = [n["dpr_positive_ctxs"], n["dpr_negative_ctxs"], n["dpr_hard_negative_ctxs"]]
        path = self.raw_file(f"nq-{split}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write("[\n")
            for i in range(n_q):
                qid = first_id + i
                pids = 1 + self.rng.choice(n_p, sum(per), replace=False)
                texts = words.texts(pids, NQ_PASSAGE, 100, 100)
                titles = words.texts(pids, TITLE, 1, 4)
                ctxs = [{"title": t, "text": x, "score": 1000.0 - j, "title_score": 0, "passage_id": str(p)}
                        for j, (p, x, t) in enumerate(zip(pids.tolist(), texts, titles))]
                rec = {"dataset": f"nq_{split}_psgs_w100", "question": self.queries(np.array([qid]))[0],
                       "answers": [titles[0]]}
                for key, a, b in zip(keys, np.cumsum([0, *per[:-1]]), np.cumsum(per)):
                    rec[key] = ctxs[a:b]
                f.write(("" if i == 0 else ",\n") + json.dumps(rec))
            f.write("\n]\n")
        _gzip_file(path, self.root / f"dpr/biencoder-nq-{split}.json.gz")


def build(root: str | os.PathLike, fraction: float) -> dict:
    """Write every served file for ``fraction`` under ``root``; returns the manifest
    (``sample_server``'s: each file's md5 and size, and the row counts)."""
    root = Path(root)
    gen = Generator(root, fraction)
    gen.msmarco()
    gen.nq()
    shutil.rmtree(gen.raw)
    manifest: dict = {"files": {}, "counts": {**gen.n, "fraction": fraction}}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "MANIFEST.json"):
        md5 = hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                md5.update(block)
        manifest["files"][path.relative_to(root).as_posix()] = {"md5": md5.hexdigest(), "size": path.stat().st_size}
    write_text(root / "MANIFEST.json", json.dumps(manifest, indent=1, sort_keys=True))
    return manifest

