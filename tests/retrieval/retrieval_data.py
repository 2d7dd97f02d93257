"""The retrieval tests' data (a fixture both test modules import): a small synthetic MS MARCO,
candidates, and a tiny random DE."""

import numpy as np
import pandas as pd
import pytest

from dualrank.data import contracts
from dualrank.data.synthetic import generate
from dualrank.text.tokenizer import train_wordpiece

TINY = {"init": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from dualrank.models import build_model

    d = tmp_path_factory.mktemp("retrieval")
    tables = generate("msmarco", 0, n_entities=30, n_train=10, n_valid=5, n_dev=8, n_dl19=3)
    for name, df in tables.items():
        contracts.write(df, d / f"{name}.parquet", name.split("-")[0])
    rng = np.random.default_rng(0)
    docs = tables["corpus"]["doc_id"].to_numpy()
    cands = [{"query_id": q, "doc_id": doc, "score": -float(r), "rank": r}
             for q, pos in tables["qrels-dev"].groupby("query_id")["doc_id"].first().items()
             for r, doc in enumerate(dict.fromkeys([*rng.choice(docs, 6, replace=False), pos]), 1)]
    contracts.write(pd.DataFrame(cands), d / "cands.parquet", "run")
    train_wordpiece(d / "corpus.parquet", d / "tok", vocab_size=300)
    build_model("de", TINY, str(d / "tok"), 12, 48).save(d / "model")
    return d
