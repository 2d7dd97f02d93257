"""The token cache holds what the tokenizer gives, is built once and reused, is rebuilt when
the table or the length changes, and fails naming the table on an unknown id."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from tokenizers import BertWordPieceTokenizer
from transformers import BertTokenizerFast

from dualrank.data import contracts
from dualrank.text import cache as tokens
from dualrank.data.io import InputError

WORDS = "[PAD] [UNK] [CLS] [SEP] [MASK] the mill was founded in vale by tessel ##s river".split()
TEXTS = ["The mill was founded in Vale.", "Tessels river", "", "the " * 40 + "mill", "Vale mill by the river"]


@pytest.fixture
def tok(tmp_path):
    # As dualrank.text.tokenizer builds one (a vocab.txt alone loses the vocabulary in transformers 5).
    wp = BertWordPieceTokenizer({w: i for i, w in enumerate(WORDS)}, lowercase=True)
    fast = BertTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", sep_token="[SEP]",
                             pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    fast.save_pretrained(tmp_path / "tok")
    return fast


def corpus(path, texts=TEXTS):
    return contracts.write(pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts}),
                           path, "corpus")


def test_ids_are_the_tokenizers_and_the_cache_is_reused(tmp_path, tok, monkeypatch):
    path = corpus(tmp_path / "corpus.parquet")
    table = tokens.load(path, "corpus", tok, 8)
    ref = tok(TEXTS, add_special_tokens=False, truncation=True, max_length=8)["input_ids"]
    assert [table[f"d{i}"].tolist() for i in range(len(TEXTS))] == ref
    # by hand: "tessels" is tessel ##s, unknown words are [UNK]
    assert table["d1"].tolist() == [WORDS.index("tessel"), WORDS.index("##s"), WORDS.index("river")]
    assert len(table["d3"]) == 8 and len(table["d2"]) == 0
    (cache,) = [p for p in (tmp_path / ".tokens").iterdir() if p.is_dir()]
    assert (cache / "ids.bin").stat().st_size == 2 * sum(map(len, ref))  # uint16 for a small vocabulary

    def fail(*a, **k):
        raise AssertionError("the cache was rebuilt")

    monkeypatch.setattr(tokens, "_build", fail)
    again = tokens.load(path, "corpus", tok, 8)
    assert again["d0"].tolist() == ref[0]


def test_new_table_or_length_gets_a_new_cache(tmp_path, tok):
    path = corpus(tmp_path / "corpus.parquet")
    tokens.load(path, "corpus", tok, 8)
    longer = tokens.load(path, "corpus", tok, 50)
    assert len(longer["d3"]) == 41
    corpus(path, ["river", "mill", "vale", "by", "the"])  # the same file name, new contents
    fresh = tokens.load(path, "corpus", tok, 8)
    assert fresh["d0"].tolist() == [WORDS.index("river")]
    assert len([p for p in (tmp_path / ".tokens").iterdir() if p.is_dir()]) == 3


def test_rows_pad_and_unknown_ids(tmp_path, tok):
    table = tokens.load(corpus(tmp_path / "corpus.parquet"), "corpus", tok, 8)
    rows = table.rows([["d1", "d0"], ["d4", ""]], pad="")
    assert rows[1][1].tolist() == [] and rows[0][0].tolist() == table["d1"].tolist()
    assert rows.lengths.tolist() == [[3, 7], [5, 0]]  # "." is a token ([UNK]) of its own
    with pytest.raises(InputError, match=r"corpus\.parquet: 1 doc_id\(s\) .* not in this corpus table, first 'd9'"):
        table.rows(["d0", "d9"])


def test_off_keeps_nothing_on_disk(tmp_path, tok, monkeypatch):
    monkeypatch.setenv("DUALRANK_TOKEN_CACHE", "off")
    table = tokens.load(corpus(tmp_path / "corpus.parquet"), "corpus", tok, 8)
    assert table["d1"].tolist() == [WORDS.index("tessel"), WORDS.index("##s"), WORDS.index("river")]
    assert not (tmp_path / ".tokens").exists()


ROOT = Path(__file__).resolve().parents[2]
# One job as Snakemake runs it: its own process that loads the tokenizer and the table. It says
# it is ready, then waits for the go so that all jobs reach the cache at the same moment.
JOB = """
import json, sys, time
from pathlib import Path
from transformers import AutoTokenizer
from dualrank.text import cache
table, tok_dir, ready, go = sys.argv[1:]
tok = AutoTokenizer.from_pretrained(tok_dir)
Path(ready).touch()
deadline = time.monotonic() + 120
while not Path(go).exists():
    if time.monotonic() > deadline:
        sys.exit("no go within 120 s")
    time.sleep(0.01)
print(json.dumps(cache.load(table, "corpus", tok, 8)["d0"].tolist()))
"""


def test_concurrent_jobs_build_one_cache(tmp_path, tok):
    # Separate processes, never a fork: a child forked after torch or the Rust tokenizers started
    # their thread pools can wait forever on a lock that a thread of the parent held.
    path = corpus(tmp_path / "corpus.parquet", TEXTS * 2000)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(3)]
    jobs = [subprocess.Popen([sys.executable, "-c", JOB, str(path), str(tmp_path / "tok"), str(r), str(go)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for r in ready]
    try:
        deadline = time.monotonic() + 180
        while not all(r.exists() for r in ready) and all(j.poll() is None for j in jobs):
            assert time.monotonic() < deadline, "the jobs did not start within 180 s"
            time.sleep(0.05)
        go.touch()
        outs = [j.communicate(timeout=180) for j in jobs]
    finally:
        for j in jobs:
            j.kill()
            j.wait()
    for j, (_, stderr) in zip(jobs, outs):
        assert j.returncode == 0, stderr[-3000:]
    ids = [json.loads(stdout) for stdout, _ in outs]
    assert ids[0] == ids[1] == ids[2] == tok(TEXTS[0], add_special_tokens=False)["input_ids"]
    entries = sorted(p.name for p in (tmp_path / ".tokens").iterdir())
    assert len([e for e in entries if not e.endswith(".lock")]) == 1, entries  # no leftover temp dirs


def test_a_cache_build_holds_one_batch_of_tokens_not_the_corpus(tmp_path, tok, monkeypatch):
    """The peak memory of building a cache (NumPy and Python allocations, traced) grows by at most
    the row lengths (8 bytes a row, and the offsets made from them) when the table is 8x larger;
    the token ids (here 41 a row) go to disk batch by batch. The ids are those of an
    all-in-memory build."""
    import tracemalloc

    import numpy as np

    monkeypatch.setattr(tokens, "BATCH_ROWS", 500)
    peaks = {}
    for n in (2_000, 16_000):
        path = corpus(tmp_path / f"corpus{n}.parquet", ["the " * 40 + "mill"] * n)
        out = tmp_path / f"cache{n}"
        out.mkdir()
        tracemalloc.start()
        tokens._build(path, "corpus", tok, 64, out)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        flat, offsets = tokens._build(path, "corpus", tok, 64, None)
        assert np.array_equal(np.fromfile(out / "ids.bin", dtype=flat.dtype), flat)
        assert np.array_equal(np.load(out / "offsets.npy"), offsets) and offsets[-1] == 41 * n
    # All in memory, 14,000 more rows of 41 uint16 ids would add 1.1 MB (twice that while joined).
    assert peaks[16_000] - peaks[2_000] < 14_000 * 3 * 8, peaks
