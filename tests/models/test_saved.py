"""A trained model leaves the pipeline: its directory loads with sentence-transformers (DE,
CA) and scores as dualrank does; older runs' weights.pt still load."""

import json

import numpy as np
import pandas as pd
import pytest
import sentence_transformers as st  # the test extra's: what a user of a trained model loads it with
import torch
from safetensors.torch import load_file

from dualrank.models import load_model, saved
from dualrank.spec import TrainSpec
from dualrank.training.trainer import Trainer
from tests.training.test_train import args, data, spec  # noqa: F401  (data: that module's fixture)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):  # noqa: F811
    """A DE and a CA trained for a few steps on the synthetic data, each saved by the trainer."""
    out = {}
    for arch, loss in (("de", "margin_mse"), ("ca", "one_hot")):
        d = tmp_path_factory.mktemp(arch)
        s = spec(loss, steps=4)
        s["arch"] = arch
        t = Trainer(TrainSpec.from_dict(s), args(data, d))
        t.write_outputs(t.run())
        out[arch] = d / "model"
    return out | {"data": data}


def texts(d):
    # Queries and passages longer than the DE's 12 query and 48 passage tokens among them, so
    # that truncation is compared too.
    queries = pd.read_parquet(d / "queries-dev.parquet")["text"].tolist()[:6]
    corpus = pd.read_parquet(d / "corpus.parquet")["text"].tolist()
    passages = [" ".join(corpus[i:i + 5]) for i in range(0, 40, 5)]
    return queries, passages


def test_de_loads_in_sentence_transformers_and_scores_as_dualrank(trained):
    queries, passages = texts(trained["data"])
    model = load_model(trained["de"])
    tokenizer = model.tokenizer
    assert max(len(tokenizer(q)["input_ids"]) for q in queries) > model.query_length
    assert max(len(tokenizer(p)["input_ids"]) for p in passages) > model.passage_length
    with torch.no_grad():
        ours = model.encode_queries(queries) @ model.encode_docs(passages).T
    elsewhere = st.SentenceTransformer(str(trained["de"]), device="cpu")
    q = elsewhere.encode_query(queries, convert_to_tensor=True)
    d = elsewhere.encode_document(passages, convert_to_tensor=True)
    theirs = elsewhere.similarity(q, d)
    assert theirs.shape == (6, 8) and float(ours.abs().max()) > 1.0
    np.testing.assert_allclose(theirs.numpy(), ours.numpy(), atol=1e-5, rtol=0)


def test_ca_loads_as_a_cross_encoder_and_scores_as_dualrank(trained):
    queries, passages = texts(trained["data"])
    model = load_model(trained["ca"])
    # The CA cuts a query to its query_length ids before the pair (models/ca.py); a cross-encoder
    # truncates the pair longest-first, which agrees while the query fits (saved.py says so).
    n_ids = lambda t: len(model.tokenizer(t, add_special_tokens=False)["input_ids"])  # noqa: E731
    queries = [q for q in queries if n_ids(q) <= model.query_length]
    assert len(queries) >= 3 and max(n_ids(p) for p in passages) > model.query_length + model.passage_length
    pairs = [(q, p) for q in queries for p in passages]
    with torch.no_grad():
        ours = model.score_pairs([q for q, _ in pairs], [p for _, p in pairs]).numpy()
    theirs = st.CrossEncoder(str(trained["ca"]), device="cpu").predict(pairs, batch_size=16)
    assert len(set(np.round(ours, 4))) > 10, "scores must differ between pairs for the check to mean anything"
    np.testing.assert_allclose(theirs, ours, atol=1e-5, rtol=0)


def test_weights_are_safetensors_in_the_layout_the_docs_name(trained):
    de, ca = trained["de"], trained["ca"]
    assert not list(de.glob("*.pt")) and not list(ca.glob("*.pt"))
    bert = load_file(de / "model.safetensors")
    assert "embeddings.word_embeddings.weight" in bert and not any(k.startswith("backbone.") for k in bert)
    assert [m["type"].rsplit(".", 1)[1] for m in json.loads((ca / "modules.json").read_text())] == \
        ["Transformer", "Pooling", "Dropout", "LayerNorm", "Dense"]
    assert set(load_file(ca / "4_Dense/model.safetensors")) == {"linear.weight", "linear.bias"}


def test_an_older_runs_weights_pt_still_loads(trained, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained["ca"], old)
    state = saved.read_weights(old)
    for f in [*old.glob("*.safetensors"), *old.glob("*/model.safetensors")]:
        f.unlink()
    torch.save(state, old / "weights.pt")
    a, b = load_model(trained["ca"]), load_model(old)
    with torch.no_grad():
        assert torch.equal(a.score_pairs(["vale city"], ["the city"]), b.score_pairs(["vale city"], ["the city"]))


def test_colbert_saves_its_bert_and_token_layer_norm_as_documented(tmp_path):
    from dualrank.models import ColBERT
    from tests.models.test_models import backbone, tokenizer

    tok = tokenizer(tmp_path)
    m = ColBERT(backbone(tok), tok, query_length=8, passage_length=8).eval()
    m.save(tmp_path / "colbert")
    names = {p.name for p in (tmp_path / "colbert").iterdir()}
    assert {"model.safetensors", "colbert_head.safetensors", "config.json", "dualrank.json"} <= names
    assert "modules.json" not in names  # no sentence-transformers module normalises token embeddings
    assert set(load_file(tmp_path / "colbert/colbert_head.safetensors")) == {"norm.weight", "norm.bias"}
    again = load_model(tmp_path / "colbert")
    with torch.no_grad():
        assert torch.equal(again.score_pairs(["vale city"], ["the city"]), m.score_pairs(["vale city"], ["the city"]))
