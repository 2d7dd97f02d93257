"""What the speed benchmark runs on: texts, a tokenizer, and the same BERT built both ways.

Texts: the real MS MARCO passages and queries in ``../shared/data`` (the 4,102 judged DL19
passages, mean 59 words, and the 6,980 dev-small queries) when that folder is present (or
``DUALRANK_SHARED`` points at it), else the synthetic MS MARCO-like demo data, whose passages
are shorter (20-60 words): the table header says which. Passage length matters: padding is
where time goes.

Models: a random-initialised BERT of the benchmark's shape (no hub), built by dualrank's own
``build_model``; its backbone is saved as a Hugging Face directory that sentence-transformers
loads, so both sides start from the same weights and vocabulary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# CPU: a small BERT that runs in minutes. CUDA: the paper's DE, google/bert_uncased_L-6_H-768_A-12.
SHAPES = {
    "cpu": {"layers": 2, "hidden": 256, "heads": 4, "intermediate": 1024},
    "cuda": {"layers": 6, "hidden": 768, "heads": 12, "intermediate": 3072},
}
SHAPE_NAMES = {"cpu": "BERT 2x256 (4 heads, FFN 1024)", "cuda": "bert-6-768 (6x768, 12 heads, FFN 3072)"}


@dataclass
class Texts:
    source: str
    passages: list[str]
    queries: list[str]


def shared_data() -> Path | None:
    root = Path(os.environ.get("DUALRANK_SHARED", Path.cwd().parent / "shared")) / "data"
    return root if (root / "dl19-passage-relevant-text").is_dir() else None


def _tsv_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t", 1)[1] for line in f if "\t" in line]


def load_texts(seed: int = 0) -> Texts:
    root = shared_data()
    if root is not None:
        passages = _tsv_texts(root / "dl19-passage-relevant-text/collection.dl19-rel.tsv")
        queries = _tsv_texts(root / "msmarco-dev-small-topics-qrels/topics.msmarco-passage.dev-subset.txt")
        return Texts(f"MS MARCO: {len(passages):,} DL19 passages, {len(queries):,} dev queries ({root})",
                     passages, queries)
    from dualrank.data.synthetic import generate

    t = generate("msmarco", seed, n_entities=440, n_train=2000)
    return Texts(f"synthetic MS MARCO-like demo data ({len(t['corpus']):,} passages; no ../shared/data)",
                 t["corpus"]["text"].tolist(), t["queries-train"]["text"].tolist())


def write_tables(texts: Texts, work: Path, n_passages: int | None = None) -> tuple[Path, Path]:
    """The texts as the pipeline's corpus and queries tables (doc ids d0.., query ids q0..)."""
    from dualrank.data.contracts import write

    passages = texts.passages[:n_passages]
    corpus = write(pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(passages))], "text": passages}),
                   work / f"corpus-{len(passages)}.parquet", "corpus")
    queries = write(pd.DataFrame({"query_id": [f"q{i}" for i in range(len(texts.queries))],
                                  "text": texts.queries}), work / "queries.parquet", "queries")
    return corpus, queries


def make_tokenizer(texts: Texts, work: Path) -> Path:
    """A WordPiece vocabulary of BERT's size trained on the benchmark texts (no hub access)."""
    from dualrank.text.tokenizer import train_wordpiece

    corpus, _ = write_tables(texts, work)
    return train_wordpiece(corpus, work / "tokenizer", vocab_size=30522, extra_texts=texts.queries)


def our_model(arch: str, shape: dict, tokenizer: Path, lengths: tuple[int, int], seed: int):
    import torch

    from dualrank.models import build_model

    torch.manual_seed(seed)
    return build_model(arch, {"init": shape}, str(tokenizer), lengths[0], lengths[1], dropout=0.1, layer_norm=True)


def st_bi_encoder(model, work: Path, max_length: int, device: str):
    """sentence-transformers' model of our DE: the same BERT, [CLS] pooling, dropout, LayerNorm."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Dropout, LayerNorm, Pooling

    out = work / "hf-de"
    model.backbone.save_pretrained(out)
    model.tokenizer.save_pretrained(out)
    hidden = model.backbone.config.hidden_size
    modules = [Transformer(str(out), max_seq_length=max_length), Pooling(hidden, pooling_mode="cls"),
               Dropout(0.1), LayerNorm(hidden)]
    return SentenceTransformer(modules=modules, device=device)


def st_cross_encoder(model, work: Path, max_length: int, device: str):
    """sentence-transformers' CrossEncoder over the same BERT (its usual classification head)."""
    from sentence_transformers import CrossEncoder
    from transformers import BertForSequenceClassification

    out = work / "hf-ca"
    config = model.backbone.config.__class__.from_dict({**model.backbone.config.to_dict(), "num_labels": 1})
    clf = BertForSequenceClassification(config)
    clf.bert.load_state_dict(model.backbone.state_dict(), strict=False)
    clf.save_pretrained(out)
    model.tokenizer.save_pretrained(out)
    return CrossEncoder(str(out), max_length=max_length, device=device)


@dataclass
class Batch:
    query_ids: list[str]         # B
    doc_ids: list[list[str]]     # B x K, the first the positive
    queries: list[str]
    docs: list[list[str]]
    teacher: np.ndarray          # [B, K] float32, descending
    labels: np.ndarray           # [B, K] float32


def sample_groups(texts: Texts, n_batches: int, batch: int, k: int, seed: int) -> list[Batch]:
    """Training batches: B queries, each with K passages and teacher scores (ids as in write_tables)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        q = rng.choice(len(texts.queries), batch, replace=False)
        d = rng.choice(len(texts.passages), (batch, k), replace=True)
        teacher = np.sort(rng.normal(0, 3, (batch, k)).astype(np.float32), axis=1)[:, ::-1].copy()
        labels = np.zeros((batch, k), np.float32)
        labels[:, 0] = 1
        out.append(Batch([f"q{i}" for i in q], [[f"d{j}" for j in row] for row in d],
                         [texts.queries[i] for i in q], [[texts.passages[j] for j in row] for row in d],
                         teacher, labels))
    return out
