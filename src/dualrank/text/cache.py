"""Token-id cache: each corpus or query table tokenised once per tokenizer and length.

Every training, indexing and evaluation job of a dataset reads the same passages; rather than
tokenising them again in each job (and, in training, again at every step), the first job to
need them writes their token ids, without special tokens and truncated to the length asked
for, and every later job maps the file::

    <table dir>/.tokens/<table stem>-<key>/ids.bin       flat token ids (uint16, or int32 for
                                                          vocabularies over 65,536)
                                          /offsets.npy    int64 [N + 1]: row i is ids[o[i]:o[i+1]]
                                          /meta.json

``key`` hashes the table file (resolved path, size, modification time), the tokenizer (its
full serialised pipeline: vocabulary, normaliser, pre-tokeniser) and the length, so a changed
table or tokenizer gets a new cache and a stale one is never read. The directory is written
under a temporary name and renamed (atomic); a lock file makes concurrent jobs wait for the
first instead of tokenising the same table at the same time. ``DUALRANK_TOKEN_CACHE=DIR``
puts caches under DIR instead (e.g. a node-local disk); ``DUALRANK_TOKEN_CACHE=off`` keeps
them in memory only. Stale caches may be deleted at any time.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from dualrank.data import contracts
from dualrank.data.io import InputError, atomic_output
from dualrank.text.ids import IdIndex

log = logging.getLogger(__name__)
ID_COLUMN = {"corpus": "doc_id", "queries": "query_id"}
FORMAT = 1


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of what maps text to ids; the per-call truncation and padding state is left out."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        text = json.dumps(state, sort_keys=True)
    else:  # a slow (Python) tokenizer: its vocabulary and class
        text = json.dumps([type(tokenizer).__name__, sorted(tokenizer.get_vocab().items())])
    return hashlib.sha256(text.encode()).hexdigest()


def cache_key(path: Path, tokenizer, max_length: int) -> str:
    st = path.stat()
    ident = [FORMAT, str(path.resolve()), st.st_size, st.st_mtime_ns, tokenizer_fingerprint(tokenizer), max_length]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def tokenize(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids without special tokens, cut to ``max_length`` (as the tokenizer's own call with
    truncation does), through the Rust tokenizer directly when there is one (a third faster)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length,
                         return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    # A copy: the tokenizer's own backend carries the truncation and padding of its last call.
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.no_truncation()
    plain.no_padding()
    return [e.ids[:max_length] for e in plain.encode_batch_fast(texts, add_special_tokens=False)]


#: Rows tokenised at a time while a cache is built (their texts and token lists in memory).
BATCH_ROWS = 50_000


def _build(path: Path, kind: str, tokenizer, max_length: int, out: Path | None):
    """Tokenise the table's texts in streamed batches; write ``out`` if given (each batch's ids
    appended to ids.bin as it is made, so that a build holds one batch of tokens, never the
    corpus's); (ids, offsets), ids None when written to ``out``."""
    dtype = np.uint16 if len(tokenizer) <= 2**16 else np.int32
    pf = contracts.open_parquet(path, kind)
    lengths, parts, t0, done = [], [], time.time(), 0
    sink = open(out / "ids.bin", "wb") if out is not None else None
    try:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=["text"]):
            ids = tokenize(tokenizer, batch.column(0).to_pylist(), max_length)
            lengths.append(np.fromiter(map(len, ids), np.int64, len(ids)))
            flat = np.fromiter(itertools.chain.from_iterable(ids), dtype, int(lengths[-1].sum()))
            if sink is not None:
                flat.tofile(sink)
            else:
                parts.append(flat)
            done += len(ids)
            log.info("tokenised %d/%d rows of %s (%.0f rows/s)", done, pf.metadata.num_rows, path.name,
                     done / max(time.time() - t0, 1e-9))
    finally:
        if sink is not None:
            sink.close()
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]) if lengths else np.zeros(1, np.int64)
    if out is None:
        return (np.concatenate(parts) if parts else np.zeros(0, dtype)), offsets.astype(np.int64)
    np.save(out / "offsets.npy", offsets.astype(np.int64))
    (out / "meta.json").write_text(json.dumps({
        "source": str(path), "kind": kind, "max_length": max_length, "rows": len(offsets) - 1,
        "tokens": int(offsets[-1]), "dtype": np.dtype(dtype).name,
        "tokenizer": getattr(tokenizer, "name_or_path", ""), "format": FORMAT}, indent=1))
    return None, offsets.astype(np.int64)


def _cached(path: Path, kind: str, tokenizer, max_length: int):
    setting = os.environ.get("DUALRANK_TOKEN_CACHE", "")
    if setting.lower() in ("off", "0", "no"):
        return _build(path, kind, tokenizer, max_length, None)
    root = Path(setting) if setting else path.parent / ".tokens"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{path.stem}-{cache_key(path, tokenizer, max_length)}"
    with open(root / f"{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent job building the same cache finishes first
        if not (final / "meta.json").exists():
            with atomic_output(final, directory=True) as tmp:
                _build(path, kind, tokenizer, max_length, tmp)
            log.info("token cache written: %s", final)
    meta = json.loads((final / "meta.json").read_text())
    flat = np.memmap(final / "ids.bin", dtype=meta["dtype"], mode="r") if meta["tokens"] else \
        np.zeros(0, meta["dtype"])
    return flat, np.load(final / "offsets.npy")


class TokenTable(Mapping):
    """id -> token ids (a NumPy view, no special tokens) of one corpus or queries table."""

    def __init__(self, path: str | Path, kind: str, tokenizer, max_length: int):
        self.path, self.kind, self.max_length = Path(path), kind, max_length
        id_col = ID_COLUMN[kind]
        # Compact for MS MARCO's and NQ's integer passage ids: no job holds 8.8M (21M) id strings.
        self.ids = IdIndex(contracts.open_parquet(self.path, kind).read(columns=[id_col]).column(0))
        self.flat, self.offsets = _cached(self.path, kind, tokenizer, max_length)
        if len(self.offsets) - 1 != len(self.ids):
            raise InputError(f"{self.path}: token cache has {len(self.offsets) - 1} rows, table {len(self.ids)}")
        self.lengths = np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i]:self.offsets[i + 1]] if i >= 0 else self.flat[:0]

    def __getitem__(self, key: str) -> np.ndarray:
        i = self.ids.get_loc(key)  # KeyError for an unknown id, as a dict
        return self.row(i)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids, pad: str | None = None) -> np.ndarray:
        """Row numbers of ``ids`` (any shape); ``pad`` ids map to -1 (an empty sequence); an id
        missing from the table fails naming the file."""
        flat = np.asarray(ids, dtype=object).ravel()
        rows = self.ids.get_indexer(flat)
        missing = (rows < 0) & (flat != pad) if pad is not None else rows < 0
        if missing.any():
            id_col = ID_COLUMN[self.kind]
            raise InputError(f"{self.path}: {len(set(flat[missing]))} {id_col}(s) referenced downstream are not "
                             f"in this {self.kind} table, first {sorted(set(flat[missing]))[0]!r}")
        return rows.reshape(np.shape(ids))

    def rows(self, ids, pad: str | None = None) -> Sequences:
        return Sequences(self, self.positions(ids, pad))

    def all(self) -> Sequences:
        return Sequences(self, np.arange(len(self.ids)))


class Sequences:
    """Token sequences by position: ``s[i]`` is a sequence (or, for 2-D rows, a list of them)."""

    def __init__(self, table: TokenTable, rows: np.ndarray):
        self.table, self.positions = table, rows

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i):
        r = self.positions[i]
        if np.ndim(r) == 0:
            return self.table.row(int(r))
        return [self.table.row(int(j)) for j in np.ravel(r)]

    @property
    def lengths(self) -> np.ndarray:
        return np.where(self.positions >= 0, self.table.lengths[self.positions], 0)


def load(path: str | Path, kind: str, tokenizer, max_length: int) -> TokenTable:
    return TokenTable(path, kind, tokenizer, max_length)


def for_model(path: str | Path, kind: str, model, ids=None) -> TokenTable:
    """The table's token ids at a ranker's lengths; with ``ids``, each must be in the table
    (else an error naming the file)."""
    length = model.query_token_length if kind == "queries" else model.doc_token_length
    table = load(path, kind, model.tokenizer, length)
    if ids is not None:
        table.positions(list(ids))
    return table
