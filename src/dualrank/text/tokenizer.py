"""Tokenizers: a WordPiece vocabulary trained on a corpus (demo preset) or a model's own.

The demo has no pre-trained weights, so its encoders need a vocabulary of their own: an
uncased BERT WordPiece tokenizer built from the corpus, saved as a ``BertTokenizerFast``
directory that ``AutoTokenizer.from_pretrained`` loads like any Hugging Face tokenizer
(``dualrank tokenizer``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow.parquet as pq

from dualrank.data.io import atomic_output

log = logging.getLogger(__name__)


SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_vocab(texts: list[str], vocab_size: int) -> dict[str, int]:
    """A deterministic WordPiece vocabulary: the special tokens, every character seen (alone and
    as a ``##`` continuation, so nothing is out of vocabulary), then whole words by frequency
    (ties alphabetical), words seen once left out.

    The tokenizers library's WordPiece trainer breaks frequency ties at its cut-off in hash-map
    order, which differs between processes, so two runs gave different vocabularies.
    """
    from collections import Counter

    from tokenizers import BertWordPieceTokenizer

    pre = BertWordPieceTokenizer(lowercase=True, strip_accents=True, clean_text=True)._tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        norm = pre.normalizer.normalize_str(text)
        counts.update(w for w, _ in pre.pre_tokenizer.pre_tokenize_str(norm))
    chars = sorted({c for w in counts for c in w})
    tokens = SPECIAL + chars + [f"##{c}" for c in chars]
    words = sorted((w for w, n in counts.items() if n >= 2 and len(w) > 1), key=lambda w: (-counts[w], w))
    tokens += words[: max(0, vocab_size - len(tokens))]
    return {t: i for i, t in enumerate(tokens)}


def train_wordpiece(corpus_path: str | Path, out_dir: str | Path, vocab_size: int = 4000,
                    extra_texts: list[str] | None = None) -> Path:
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    texts = pq.read_table(corpus_path, columns=["text"]).column("text").to_pylist()
    texts += extra_texts or []
    vocab = wordpiece_vocab(texts, vocab_size)
    tok = BertWordPieceTokenizer(vocab, lowercase=True, strip_accents=True, clean_text=True)
    out_dir = Path(out_dir)
    with atomic_output(out_dir, directory=True) as tmp:
        # Wrap the tokenizer object itself: building from vocab.txt alone loses the
        # vocabulary under transformers 5 (every word becomes [UNK]).
        fast = BertTokenizerFast(tokenizer_object=tok._tokenizer, unk_token="[UNK]",
                                 sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                                 mask_token="[MASK]")
        fast.save_pretrained(str(tmp))
    log.info("WordPiece vocabulary of %d tokens from %d texts -> %s", len(vocab), len(texts), out_dir)
    return out_dir


def texts_of(tables: list[str | os.PathLike]) -> list[str]:
    """The ``text`` column of each table, in order (query texts that join a vocabulary's corpus)."""
    return [t for q in tables for t in pq.read_table(q, columns=["text"]).column("text").to_pylist()]
