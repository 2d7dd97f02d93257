"""Flags that several stage commands share, declared once: the contract tables' descriptions
and the flags of the commands that run a trained model."""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option

CORPUS = "corpus Parquet (doc_id, text)"
QUERIES = "queries Parquet (query_id, text)"
QRELS = "qrels Parquet (query_id, doc_id, relevance)"
RUN = "run Parquet (query_id, doc_id, score, rank)"
PAIRS = "pairs Parquet (query_id, doc_id, label, teacher_score)"
PROGRESS_EVERY = "seconds between progress logs"


@dataclass(frozen=True, kw_only=True)
class Encoding:
    """The flags of a command that runs a trained model (teacher-score, index, evaluate)."""

    batch_size: int = option("inputs per forward pass: (query, passage) pairs for a CA, texts for a DE", 256)
    threads: int = option("torch CPU threads (default: torch's choice)", 0)
