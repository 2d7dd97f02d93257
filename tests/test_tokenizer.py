import pandas as pd
from transformers import AutoTokenizer

from dualrank import contracts
from dualrank.tokenizer import train_wordpiece


def test_trained_wordpiece_knows_the_corpus_words(tmp_path):
    texts = ["Farki Dritor died in Veros Ford."] * 5 + ["The mayor of Tessel Vale is Orrin Kast."] * 5
    corpus = pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts})
    contracts.write(corpus, tmp_path / "corpus.parquet", "corpus")
    train_wordpiece(tmp_path / "corpus.parquet", tmp_path / "tok", vocab_size=200)
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert tok.tokenize("Farki died in Tessel Vale") == ["farki", "died", "in", "tessel", "vale"]
    assert len(tok) > 30 and tok.pad_token_id == 0
    assert tok.unk_token_id not in tok("veros ford mayor")["input_ids"]
