"""Flags that several stage commands share, declared once: the contract tables' descriptions
and the flags of the commands that run a trained model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dualrank.cli.args import option
from dualrank.data.io import InputError

CORPUS = "corpus Parquet (doc_id, text)"
QUERIES = "queries Parquet (query_id, text)"
QRELS = "qrels Parquet (query_id, doc_id, relevance)"
RUN = "run Parquet (query_id, doc_id, score, rank)"
PAIRS = "pairs Parquet (query_id, doc_id, label, teacher_score)"
PROGRESS_EVERY = "seconds between progress logs"


def json_flag(value: str, flag: str) -> Any:
    """A flag's JSON value, or InputError naming the flag."""
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise InputError(f"{flag}: not JSON ({e})") from None


@dataclass(frozen=True, kw_only=True)
class Encoding:
    """The flags of a command that runs a trained model (teacher-score, index, evaluate)."""

    batch_size: int = option("inputs per forward pass: (query, passage) pairs for a CA, texts for a DE", 256)
    threads: int = option("torch CPU threads (default: torch's choice)", 0)
