"""Training: reproducible from a seed, resumable from its checkpoint bit for bit, and bad
input (a document id missing from the corpus) fails naming the file with no output left."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch

from dualrank import contracts
from dualrank.data.synthetic import generate
from dualrank.errors import InputError
from dualrank.tokenizer import train_wordpiece
from dualrank.train import Trainer

SIZES = {"n_entities": 60, "n_train": 80, "n_valid": 10, "n_dev": 10, "n_dl19": 5}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    tables = generate("msmarco", 0, **SIZES)
    for name, df in tables.items():
        kind = name.split("-")[0]
        contracts.write(df, d / f"{name}.parquet", kind)
    rng = np.random.default_rng(0)
    docs = tables["corpus"]["doc_id"].to_numpy()
    rows = []
    for qid, pos in tables["qrels-train"].groupby("query_id")["doc_id"].first().items():
        negs = [x for x in rng.choice(docs, 5, replace=False) if x != pos][:3]
        rows.append({"query_id": qid, "doc_ids": [pos, *negs], "labels": [1, 0, 0, 0],
                     "teacher_scores": [3.0, 1.0, 0.5, 0.0]})
    contracts.write(pd.DataFrame(rows), d / "groups.parquet", "groups")
    cands = []
    for qid, pos in tables["qrels-valid"].groupby("query_id")["doc_id"].first().items():
        for r, doc in enumerate([pos, *rng.choice(docs, 9, replace=False)], 1):
            cands.append({"query_id": qid, "doc_id": doc, "score": -float(r), "rank": r})
    contracts.write(pd.DataFrame(cands).drop_duplicates(["query_id", "doc_id"]), d / "valid.parquet", "run")
    train_wordpiece(d / "corpus.parquet", d / "tok", vocab_size=400)
    return d


def args(d, out, groups="groups.parquet"):
    return argparse.Namespace(
        groups=str(d / groups), corpus=str(d / "corpus.parquet"), queries=str(d / "queries-train.parquet"),
        valid_candidates=str(d / "valid.parquet"), valid_queries=str(d / "queries-valid.parquet"),
        valid_qrels=str(d / "qrels-valid.parquet"), tokenizer=str(d / "tok"),
        checkpoint_dir=str(out / "ckpt"), model_out=str(out / "model"),
        curve_out=str(out / "curve.parquet"), summary_out=str(out / "train.json"))


def spec(loss="m3se", steps=6):
    return {"arch": "de", "encoder": {"init": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}},
            "loss": {"name": loss}, "k": 4, "seed": 3,
            "training": {"lr": 1e-3, "weight_decay": 0.01, "batch_size": 8, "max_steps": steps,
                         "warmup_steps": 2, "query_length": 12, "passage_length": 48, "dropout": 0.1,
                         "output_layer_norm": True, "eval_every": 3, "patience": 100}}


def weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


class Interrupted(Trainer):
    """Receives SIGTERM (as from a SLURM preemption) right after step ``at``."""

    at = 3

    def evaluate(self, loss):
        super().evaluate(loss)
        if self.step == self.at:
            self.stop_requested = True


def test_same_seed_same_model_and_resume_is_exact(data, tmp_path):
    a = Trainer(spec(), args(data, tmp_path / "a"))
    a.run()
    b = Trainer(spec(), args(data, tmp_path / "b"))
    b.run()
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)

    c = Interrupted(spec(), args(data, tmp_path / "c"))
    with pytest.raises(SystemExit) as stopped:
        c.run()
    assert stopped.value.code == 143, "SIGTERM must exit non-zero so that a retry resumes"
    assert c.step == 3 and (tmp_path / "c/ckpt/last.pt").exists()
    resumed = Trainer(spec(), args(data, tmp_path / "c"))
    summary = resumed.run()
    assert summary["steps"] == 6
    wc = weights(resumed)
    assert all(torch.equal(wa[k], wc[k]) for k in wa), "a resumed run must equal an uninterrupted one"
    assert [r["step"] for r in resumed.curve] == [0, 3, 6]


def test_outputs_written(data, tmp_path):
    t = Trainer(spec("softmax_ce", 3), args(data, tmp_path))
    t.write_outputs(t.run())
    curve = pd.read_parquet(tmp_path / "curve.parquet")
    assert list(curve.columns) == ["step", "loss", "train_mrr@10", "valid_mrr@10", "valid_ndcg@10"]
    assert json.loads((tmp_path / "train.json").read_text())["spec"]["loss"]["name"] == "softmax_ce"
    assert (tmp_path / "model" / "weights.pt").exists()


def test_unknown_document_id_names_the_corpus(data, tmp_path):
    g = contracts.read(data / "groups.parquet", "groups")
    g.at[2, "doc_ids"] = [g.at[2, "doc_ids"][0], "no-such-doc", *g.at[2, "doc_ids"][2:]]
    contracts.write(g, data / "bad-groups.parquet", "groups")
    with pytest.raises(InputError, match=r"corpus\.parquet.*not in this corpus.*'no-such-doc'"):
        Trainer(spec(), args(data, tmp_path, groups="bad-groups.parquet"))
    assert not (tmp_path / "model").exists()


def test_distillation_without_teacher_scores_is_refused(data, tmp_path):
    g = contracts.read(data / "groups.parquet", "groups").assign(teacher_scores=None)
    contracts.write(g, data / "label-groups.parquet", "groups")
    with pytest.raises(InputError, match="no teacher_scores"):
        Trainer(spec("margin_mse"), args(data, tmp_path, groups="label-groups.parquet"))
