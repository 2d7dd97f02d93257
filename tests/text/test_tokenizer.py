import pandas as pd
from transformers import AutoTokenizer

from dualrank.data import contracts
from dualrank.text.tokenizer import train_wordpiece


def test_trained_wordpiece_knows_the_corpus_words(tmp_path):
    texts = ["Farki Dritor died in Veros Ford."] * 5 + ["The mayor of Tessel Vale is Orrin Kast."] * 5
    corpus = pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts})
    contracts.write(corpus, tmp_path / "corpus.parquet", "corpus")
    train_wordpiece(tmp_path / "corpus.parquet", tmp_path / "tok", vocab_size=200)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert tok.tokenize("Farki died in Tessel Vale") == ["farki", "died", "in", "tessel", "vale"]
    assert len(tok) > 30 and tok.pad_token_id == 0
    assert tok.unk_token_id not in tok("veros ford mayor")["input_ids"]


def test_vocabulary_is_the_same_in_every_process(tmp_path):
    """Seeds make runs reproducible only if the vocabulary is: build it in two processes."""
    import subprocess
    import sys

    texts = [f"entity{i % 37} attribute{i % 11} value{i % 53} words" for i in range(400)]
    corpus = pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts})
    contracts.write(corpus, tmp_path / "corpus.parquet", "corpus")
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "dualrank.cli", "tokenizer", "--corpus", str(tmp_path / "corpus.parquet"),
                        "--vocab-size", "60", "--out", str(tmp_path / name)], check=True, capture_output=True)
    assert (tmp_path / "a/tokenizer.json").read_bytes() == (tmp_path / "b/tokenizer.json").read_bytes()
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "a"))
    assert len(tok) == 60 and tok.unk_token_id not in tok("entity7 wordsy")["input_ids"]
