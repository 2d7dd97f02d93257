"""Inverse-cloze pre-training (dualrank.training.pretrain), the demo's stand-in for BERT's.

On a small synthetic corpus (the demo generator, its own WordPiece vocabulary): the pseudo-queries
name their passage, the task is learnt (in-batch accuracy far above chance, where the random
encoder sits at chance), a seed fixes the weights, and a train job starts from the saved backbone.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from dualrank.data import synthetic
from dualrank.data.io import InputError
from dualrank.spec import EncoderSpec, PretrainSpec
from dualrank.training.pretrain import InverseCloze, pretrain

SHAPE = {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from dualrank.text.tokenizer import train_wordpiece

    d = tmp_path_factory.mktemp("pretrain")
    tables = synthetic.generate("msmarco", 0, n_entities=60, facts_per_entity=6, n_attributes=12, n_train=100,
                                n_valid=20, n_dev=20, n_dl19=5, distractor_rate=0.2)
    corpus = tables["corpus"]
    corpus.to_parquet(d / "corpus.parquet")
    train_wordpiece(d / "corpus.parquet", d / "tokenizer", 2000)
    return d, corpus


def _backbone(d, seed=0):
    from dualrank.models.encoders import build_backbone, load_tokenizer

    tokenizer = load_tokenizer({"init": SHAPE}, str(d / "tokenizer"))
    torch.manual_seed(seed)
    return build_backbone({"init": SHAPE}, tokenizer), tokenizer


def test_pseudo_queries_are_sentences_that_name_their_passage():
    boiler = "Few people know this."
    texts = [f"Alpha{i} was born in Town{i}. {boiler} Alpha{i} died in City{i}." for i in range(20)]
    data = InverseCloze(texts, keep_rate=0.0, seed=3)
    for _ in range(5):
        queries, positives = data.batch(8)
        for q, p in zip(queries, positives):
            assert q != boiler  # a sentence in every passage names none of them
            assert q not in p  # keep_rate 0: the sentence leaves its passage
            assert boiler in p
    one = InverseCloze(["A single sentence here."], keep_rate=0.0, seed=0)
    assert one.batch(1) == (["A single sentence here."], ["A single sentence here."])
    with pytest.raises(InputError, match="a batch of 32 passages needs a corpus that large; this one has 20"):
        pretrain(None, None, texts, PretrainSpec(ict_steps=1, batch_size=32, lr=1e-3), 12, 64)


def test_the_task_is_learnt_and_the_seed_fixes_the_weights(world):
    d, corpus = world
    spec = PretrainSpec(ict_steps=800, pair_steps=200, batch_size=16, lr=2e-3, warmup_steps=20, temperature=4.0)
    backbone, tokenizer = _backbone(d)
    rows = pretrain(backbone, tokenizer, corpus.text.tolist(), spec, 12, 64, log_every=100)
    ict = [r for r in rows if r["task"] == "ict"]
    pairs = [r for r in rows if r["task"] == "pairs"]
    # Chance: 1/16 of the batch (loss ln 16); 1 in 4 passages for the pairs (loss ln 4). Measured
    # at these settings: 0.06 -> 0.28 and 0.33 -> 0.48.
    assert ict[0]["accuracy"] < 0.12
    assert ict[-1]["accuracy"] > 0.2 and ict[-1]["loss"] < 0.8 * math.log(16), ict
    assert pairs[-1]["accuracy"] > 0.4 and pairs[-1]["loss"] < 0.9 * math.log(4), pairs
    again, _ = _backbone(d)
    short = PretrainSpec(ict_steps=3, pair_steps=2, batch_size=8, lr=2e-3)
    pretrain(again, tokenizer, corpus.text.tolist(), short, 12, 64)
    third, _ = _backbone(d)
    pretrain(third, tokenizer, corpus.text.tolist(), short, 12, 64)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), third.state_dict().values()))


def test_a_pretrain_section_needs_an_init_encoder_and_fitting_negatives():
    with pytest.raises(InputError, match=r"encoders.x.pretrain: only an `init` encoder"):
        EncoderSpec.from_dict({"hf_id": "bert-base-uncased", "pretrain": {"ict_steps": 1, "batch_size": 4, "lr": 1e-3}},
                              "encoders.x")
    with pytest.raises(InputError, match=r"pair_negatives \(4\) must be below the pair batch size \(4\)"):
        PretrainSpec.from_dict({"ict_steps": 1, "pair_steps": 1, "batch_size": 64, "pair_batch_size": 4,
                                "pair_negatives": 4, "lr": 1e-3})
    with pytest.raises(InputError, match=r"encoder.pretrain.batch_size must be an integer >= 2"):
        PretrainSpec.from_dict({"ict_steps": 1, "batch_size": 1, "lr": 1e-3})


def test_the_cli_writes_a_backbone_that_build_model_starts_from(world, tmp_path):
    from dualrank.cli.pretrain import main
    from dualrank.models import build_model

    d, _ = world
    encoder = {"init": SHAPE, "pretrain": {"ict_steps": 4, "pair_steps": 2, "batch_size": 8, "lr": 1e-3}}
    spec = json.dumps({"encoder": encoder, "query_length": 12, "passage_length": 64})
    out = tmp_path / "pretrained"
    main(["--spec", spec, "--corpus", str(d / "corpus.parquet"), "--tokenizer", str(d / "tokenizer"),
          "--out", str(out), "--log-every", "2"])
    written = json.loads((out / "pretrain.json").read_text())
    assert [r["task"] for r in written["log"]] == ["ict", "ict", "pairs"]
    from safetensors.torch import load_file

    saved = load_file(out / "model.safetensors")
    model = build_model("de", encoder, str(d / "tokenizer"), 12, 64, pretrained=str(out))
    state = model.backbone.state_dict()
    assert all(torch.equal(state[k], saved[k]) for k in state)
    fresh = build_model("de", encoder, str(d / "tokenizer"), 12, 64)
    assert not torch.equal(fresh.backbone.state_dict()["embeddings.word_embeddings.weight"],
                           saved["embeddings.word_embeddings.weight"])
    wider = {"init": {**SHAPE, "hidden": 64}}
    with pytest.raises(InputError, match="does not fit the encoder's shape"):
        build_model("de", wider, str(d / "tokenizer"), 12, 64, pretrained=str(out))
    with pytest.raises(SystemExit) as e:
        main(["--spec", json.dumps({"encoder": {"init": SHAPE}, "query_length": 12, "passage_length": 64}),
              "--corpus", str(d / "corpus.parquet"), "--tokenizer", str(d / "tokenizer"), "--out", str(out)])
    assert e.value.code == 2


class Killed(Exception):
    pass


@pytest.mark.parametrize("kill_after", [4, 9], ids=["in-the-inverse-cloze", "in-the-pairs"])
def test_a_killed_job_resumes_bit_for_bit(world, tmp_path, monkeypatch, kill_after):
    from dualrank.training.pretrain import Checkpoints

    d, corpus = world
    texts = corpus.text.tolist()
    spec = PretrainSpec(ict_steps=6, pair_steps=5, batch_size=8, pair_batch_size=4, lr=1e-3)
    reference, tokenizer = _backbone(d)
    expected = pretrain(reference, tokenizer, texts, spec, 12, 64, log_every=2)
    # Killed after `kill_after` batches: steps 1-6 are the inverse cloze's, 7-11 the pairs'.
    checkpoints = Checkpoints(str(tmp_path / "ckpt"), 3, {"run": "test"})
    batch, calls = InverseCloze.batch, []

    def dying(self, size):
        calls.append(size)
        if len(calls) > kill_after:
            raise Killed
        return batch(self, size)

    monkeypatch.setattr(InverseCloze, "batch", dying)
    with pytest.raises(Killed):
        pretrain(_backbone(d)[0], tokenizer, texts, spec, 12, 64, log_every=2, checkpoints=checkpoints)
    monkeypatch.undo()
    assert (tmp_path / "ckpt" / "last.pt").exists()
    resumed, _ = _backbone(d)
    rows = pretrain(resumed, tokenizer, texts, spec, 12, 64, log_every=2, checkpoints=checkpoints)
    assert rows == expected
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()))
    checkpoints.remove()
    assert not (tmp_path / "ckpt").exists()
