"""Training: reproducible from a seed, resumable from its checkpoint bit for bit, and bad
input (a document id missing from the corpus) fails naming the file with no output left."""

import dataclasses
import json
import signal

import numpy as np
import pandas as pd
import pytest
import torch

from dualrank.data import contracts
from dualrank.data.synthetic import generate
from dualrank.data.io import InputError
from dualrank.models.saved import read_weights
from dualrank.spec import TrainJob, TrainSpec
from dualrank.text.tokenizer import train_wordpiece
from dualrank.training.trainer import Trainer

T = TrainSpec.from_dict

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
    return TrainJob(
        groups=str(d / groups), corpus=str(d / "corpus.parquet"), queries=str(d / "queries-train.parquet"),
        valid_candidates=str(d / "valid.parquet"), valid_queries=str(d / "queries-valid.parquet"),
        valid_qrels=str(d / "qrels-valid.parquet"), tokenizer=str(d / "tok"),
        checkpoint_dir=str(out / "ckpt"), model_out=str(out / "model"),
        curve_out=str(out / "curve.parquet"), summary_out=str(out / "train.json"))


def flags(job):
    """``dualrank train``'s file flags for ``job``."""
    out = []
    for k, v in dataclasses.asdict(job).items():
        if v is not None and v is not False:  # a switch (bool) is given only when on
            out += [f"--{k.replace('_', '-')}"] + ([] if v is True else [v])
    return out


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
            self.stop_signal = signal.SIGTERM


def test_same_seed_same_model_and_resume_is_exact(data, tmp_path):
    a = Trainer(T(spec()), args(data, tmp_path / "a"))
    a.run()
    b = Trainer(T(spec()), args(data, tmp_path / "b"))
    b.run()
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)

    c = Interrupted(T(spec()), args(data, tmp_path / "c"))
    with pytest.raises(SystemExit) as stopped:
        c.run()
    assert stopped.value.code == 143, "SIGTERM must exit non-zero so that a retry resumes"
    assert c.step == 3 and (tmp_path / "c/ckpt/last.pt").exists()
    resumed = Trainer(T(spec()), args(data, tmp_path / "c"))
    summary = resumed.run()
    assert summary["steps"] == 6
    wc = weights(resumed)
    assert all(torch.equal(wa[k], wc[k]) for k in wa), "a resumed run must equal an uninterrupted one"
    assert [r["step"] for r in resumed.curve] == [0, 3, 6]


def test_outputs_written(data, tmp_path):
    t = Trainer(T(spec("softmax_ce", 3)), args(data, tmp_path))
    t.write_outputs(t.run())
    curve = pd.read_parquet(tmp_path / "curve.parquet")
    assert list(curve.columns) == ["step", "loss", "train_mrr@10", "valid_mrr@10", "valid_ndcg@10"]
    assert json.loads((tmp_path / "train.json").read_text())["spec"]["loss"]["name"] == "softmax_ce"
    assert (tmp_path / "model" / "model.safetensors").exists() and not (tmp_path / "model" / "weights.pt").exists()


def test_unknown_document_id_names_the_corpus(data, tmp_path):
    g = contracts.read(data / "groups.parquet", "groups")
    g.at[2, "doc_ids"] = [g.at[2, "doc_ids"][0], "no-such-doc", *g.at[2, "doc_ids"][2:]]
    contracts.write(g, data / "bad-groups.parquet", "groups")
    with pytest.raises(InputError, match=r"corpus\.parquet.*not in this corpus.*'no-such-doc'"):
        Trainer(T(spec()), args(data, tmp_path, groups="bad-groups.parquet"))
    assert not (tmp_path / "model").exists()


def test_distillation_without_teacher_scores_is_refused(data, tmp_path):
    g = contracts.read(data / "groups.parquet", "groups").assign(teacher_scores=None)
    contracts.write(g, data / "label-groups.parquet", "groups")
    with pytest.raises(InputError, match="no teacher_scores"):
        Trainer(T(spec("margin_mse")), args(data, tmp_path, groups="label-groups.parquet"))


# -- training variants (Tables 8, 9, 12) and score dumps (Figures 5, 7) ------------------------

VARIANTS = {"token_dropout": 0.1, "mlm_weight": 0.5, "mlm_probability": 0.2, "in_batch_negatives": True,
            "uniform_negatives": 4}


def with_training(s, **extra):
    s["training"].update(extra)
    return s


def outputs(d, out):
    return dataclasses.replace(args(d, out), snapshots_out=str(out / "snapshots.parquet"),
                               train_scores_out=str(out / "train-scores.parquet"))


def test_variants_resume_exactly_with_their_snapshots(data, tmp_path):
    s = with_training(spec(), snapshot_steps=[2, 4], **VARIANTS)
    a = Trainer(T(s), outputs(data, tmp_path / "a"))
    a.write_outputs(a.run())
    c = Interrupted(T(s), outputs(data, tmp_path / "c"))
    with pytest.raises(SystemExit) as stopped:
        c.run()
    assert stopped.value.code == 143
    assert [int(f["step"].iat[0]) for f in c.snapshots.frames] == [0, 2]
    resumed = Trainer(T(s), outputs(data, tmp_path / "c"))
    resumed.write_outputs(resumed.run())
    wa, wc = weights(a), weights(resumed)
    assert all(torch.equal(wa[k], wc[k]) for k in wa)
    ha, hc = a.objective.state_dict(), resumed.objective.state_dict()
    assert ha and all(torch.equal(ha[k], hc[k]) for k in ha), "the MLM head resumes too"
    for name in ("snapshots.parquet", "train-scores.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / name), pd.read_parquet(tmp_path / "c" / name))
    # The MLM head is training-only: the saved model holds exactly a plain DE's weights.
    plain = Trainer(T(spec(steps=1)), args(data, tmp_path / "plain"))
    assert set(read_weights(tmp_path / "a/model")) == set(plain.model.state_dict())


def test_variants_change_training(data, tmp_path):
    base = Trainer(T(spec(steps=3)), args(data, tmp_path / "base"))
    base.run()
    for key, value in VARIANTS.items():
        if key == "mlm_probability":
            continue  # without mlm_weight there is no MLM loss (below: it has no effect alone)
        t = Trainer(T(with_training(spec(steps=3), **{key: value})), args(data, tmp_path / key))
        t.run()
        assert all(np.isfinite(r["loss"]) for r in t.curve[1:])
        wb, wt = weights(base), weights(t)
        assert any(not torch.equal(wb[k], wt[k]) for k in wb), f"{key} had no effect"
    alone = Trainer(T(with_training(spec(steps=3), mlm_probability=0.5)), args(data, tmp_path / "alone"))
    alone.run()
    assert all(torch.equal(wb[k], v) for k, v in weights(alone).items())


def test_snapshots_do_not_perturb_training(data, tmp_path):
    a = Trainer(T(spec(steps=4)), args(data, tmp_path / "a"))
    a.run()
    b = Trainer(T(with_training(spec(steps=4), snapshot_steps=[1, 2])), args(data, tmp_path / "b"))
    b.run()
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [f["stage"].iat[0] for f in b.snapshots.frames] == ["init", "step1", "step2"]


def test_score_dumps_and_best_step_metrics(data, tmp_path):
    from dualrank.models import load_model
    from dualrank.retrieval.rerank import score_candidates
    from dualrank.text.lookup import load_texts

    s = with_training(spec("one_hot", 4), eval_every=2, snapshot_steps=[1, 3, 99], train_eval_groups=20)
    t = Trainer(T(s), outputs(data, tmp_path))
    summary = t.run()
    last = scored(t)
    t.write_outputs(summary)
    snap = pd.read_parquet(tmp_path / "snapshots.parquet")
    assert list(snap.columns) == ["stage", "step", "query_id", "doc_id", "label", "score"]
    stages = snap.groupby("stage", sort=False)["step"].first()
    assert stages.to_dict() == {"init": 0, "step1": 1, "step3": 3, "final": 4}
    # Every stage scores every valid candidate; labels are the valid qrels, 0 if unjudged.
    cands = contracts.read(data / "valid.parquet", "run")
    qrels = contracts.read(data / "qrels-valid.parquet", "qrels")
    judged = cands.merge(qrels, on=["query_id", "doc_id"])
    for _, f in snap.groupby("stage"):
        assert len(f) == len(cands) and f["label"].sum() == judged["relevance"].sum()
    # "final" is the last step's model; the saved model, scored through load_model, the best.
    final = snap[snap["stage"] == "final"].set_index(["query_id", "doc_id"])["score"]
    assert np.allclose(final, last.loc[final.index], atol=1e-6)
    model = load_model(tmp_path / "model")
    queries = load_texts(data / "queries-valid.parquet", "queries")
    docs = load_texts(data / "corpus.parquet", "corpus")
    again = score_candidates(model, cands, queries, docs).set_index(["query_id", "doc_id"])["score"]
    assert np.allclose(scored(t).loc[final.index], again.loc[final.index], atol=1e-5)
    # Train scores: 20 groups x 4 documents; train.json's train MRR@10 is theirs, by hand.
    ts = pd.read_parquet(tmp_path / "train-scores.parquet")
    assert len(ts) == 80 and ts.groupby("query_id")["label"].sum().eq(1).all()
    rr = [1.0 / (1 + int((g["score"] > g.loc[g["label"] == 1, "score"].iat[0]).sum()))
          for _, g in ts.groupby("query_id")]
    written = json.loads((tmp_path / "train.json").read_text())
    assert written["train_mrr@10"] == pytest.approx(np.mean(rr), abs=1e-6)
    best = [r for r in t.curve if r["step"] == summary["best_step"]][0]
    assert written["valid_mrr@10"] == best["valid_mrr@10"] and written["best_step"] == summary["best_step"]


def script_ndcg(monkeypatch, values):
    """Validation reports these valid nDCG@10 values, one per evaluation, in order."""
    import dualrank.training.validation as train
    from dualrank.retrieval.metrics import evaluate as real

    scripted = iter(values)

    def scripted_evaluate(run, qrels):
        agg, per_query = real(run, qrels)
        return {**agg, "ndcg@10": next(scripted)}, per_query

    monkeypatch.setattr(train, "evaluate", scripted_evaluate)


def test_the_best_model_is_never_the_initialisation(data, tmp_path, monkeypatch):
    """Early stopping chooses among trained models: a run whose evaluations all fall below its
    step-0 score (a distilled student still shrinking its scores to the teacher's range)
    returns its best trained step, and step 0 costs no patience."""
    script_ndcg(monkeypatch, [0.9, 0.2, 0.3, 0.1])  # valid nDCG@10 at steps 0, 2, 4, 6
    t = Trainer(T(with_training(spec("one_hot", 6), eval_every=2, patience=2)), args(data, tmp_path))
    init = weights(t)
    summary = t.run()
    t.write_outputs(summary)
    # Counting step 0 as a candidate would return the init, early-stopped at step 4.
    assert summary["best_step"] == 4 and summary["steps"] == 6 and summary["best_valid_ndcg@10"] == 0.3
    saved = read_weights(tmp_path / "model")
    assert any(not torch.equal(init[k], saved[k]) for k in init if k in saved)


def scored(trainer) -> pd.Series:
    """The valid candidates' scores of the trainer's model as it is now."""
    return trainer.validation.score(trainer.model).set_index(["query_id", "doc_id"])["score"]


def saved_weights(out) -> dict:
    return read_weights(out / "model")


def test_figure7s_last_panel_is_the_last_step_and_the_output_the_best(data, tmp_path, monkeypatch):
    """C.3: Figure 7's bottom row is the model "at the completion of" training, the last step's;
    the job's output model (and every table) stays the early-stopped best."""
    script_ndcg(monkeypatch, [0.1, 0.2, 0.5, 0.3])  # steps 0, 2, 4, 6: the best is step 4
    t = Trainer(T(with_training(spec("one_hot", 6), eval_every=2)), outputs(data, tmp_path))
    summary = t.run()
    last, last_weights = scored(t), weights(t)
    best = {k: v.clone() for k, v in t.validation.best_state.items()}
    t.write_outputs(summary)
    assert (summary["steps"], summary["best_step"]) == (6, 4) and "model_step" not in summary
    snap = pd.read_parquet(tmp_path / "snapshots.parquet")
    final = snap[snap["stage"] == "final"]
    assert final["step"].unique().tolist() == [6]
    assert np.allclose(final.set_index(["query_id", "doc_id"])["score"], last.loc[list(zip(final["query_id"],
                                                                                           final["doc_id"]))])
    saved = saved_weights(tmp_path)
    assert all(torch.equal(saved[k], best[k]) for k in best if k in saved)
    assert any(not torch.equal(saved[k], last_weights[k]) for k in last_weights if k in saved)


def test_without_early_stopping_the_output_is_the_last_step(data, tmp_path, monkeypatch):
    """Table 8 (C.9) reports "results after 300,000 steps": training.early_stopping false trains
    to max_steps whatever the patience, and outputs the last step's model and metrics."""
    ndcg = [0.1, 0.5, 0.3, 0.2]  # steps 0, 2, 4, 6: patience 1 runs out at step 4
    script_ndcg(monkeypatch, ndcg)
    stopped = Trainer(T(with_training(spec("one_hot", 6), eval_every=2, patience=1)), args(data, tmp_path / "a"))
    assert stopped.run()["steps"] == 4
    script_ndcg(monkeypatch, ndcg)
    s = with_training(spec("one_hot", 6), eval_every=2, patience=1, early_stopping=False)
    t = Trainer(T(s), outputs(data, tmp_path / "b"))
    summary = t.run()
    last, last_weights = scored(t), weights(t)
    t.write_outputs(summary)
    assert t.validation.best_state is None  # no copy of a model that is not the output
    assert (summary["steps"], summary["best_step"], summary["model_step"]) == (6, 2, 6)
    assert summary["early_stopping"] is False
    assert summary["train_mrr@10"] == t.curve[-1]["train_mrr@10"] and t.curve[-1]["step"] == 6
    written = json.loads((tmp_path / "b/train.json").read_text())
    assert written["valid_mrr@10"] == t.curve[-1]["valid_mrr@10"] and "early_stopping" not in written["spec"]["loss"]
    saved = saved_weights(tmp_path / "b")
    assert all(torch.equal(saved[k], last_weights[k]) for k in last_weights if k in saved)
    final = pd.read_parquet(tmp_path / "b/snapshots.parquet").query("stage == 'final'")
    assert final["step"].unique().tolist() == [6]
    assert np.allclose(final["score"], last.loc[list(zip(final["query_id"], final["doc_id"]))])


@pytest.mark.parametrize("loss", [{"name": "one_hot", "label_smoothing": 0.3}, {"name": "focal", "gamma": 2.0}])
def test_label_smoothing_and_focal_train(data, tmp_path, loss):
    base = Trainer(T(spec("one_hot", 3)), args(data, tmp_path / "base"))
    base.run()
    s = spec(steps=3)
    s["loss"] = loss
    t = Trainer(T(s), args(data, tmp_path / "t"))
    t.write_outputs(t.run())
    assert all(np.isfinite(r["loss"]) for r in t.curve[1:])
    wb, wt = weights(base), weights(t)
    assert any(not torch.equal(wb[k], wt[k]) for k in wb), "the loss's hyper-parameter reached training"


def test_bad_variant_settings_name_the_key():
    for key, value in (("token_dropout", 1.0), ("mlm_weight", -1), ("snapshot_steps", [0])):
        with pytest.raises(InputError, match=f"training.{key}"):
            T(with_training(spec(), **{key: value}))


def test_command_line_writes_every_output(data, tmp_path):
    from dualrank.cli.train import main

    argv = flags(outputs(data, tmp_path))
    main(argv + ["--spec", json.dumps(with_training(spec("one_hot", 2), snapshot_steps=[1]))])
    assert pd.read_parquet(tmp_path / "snapshots.parquet")["stage"].unique().tolist() == ["init", "step1", "final"]
    assert contracts.read(tmp_path / "train-scores.parquet", "train_scores")["label"].dtype == "int8"
    assert set(json.loads((tmp_path / "train.json").read_text())) >= {"train_mrr@10", "valid_mrr@10"}
    assert not (tmp_path / "ckpt").exists()


def train_eval_job(data, tmp_path):
    """A job with a train-eval split of 5 training queries and 11-12 candidates each (the third
    query's positive is not among them: it scores 0 whatever the model)."""
    qrels = contracts.read(data / "qrels-train.parquet", "qrels")
    docs = contracts.read(data / "corpus.parquet", "corpus")["doc_id"].to_numpy()
    rng = np.random.default_rng(7)
    rows = []
    for i, (qid, pos) in enumerate(qrels.groupby("query_id")["doc_id"].first().head(5).items()):
        cands = [d for d in rng.choice(docs, 12, replace=False) if d != pos][:11]
        for r, doc in enumerate(cands if i == 2 else [*cands[:4], pos, *cands[4:]], 1):
            rows.append({"query_id": qid, "doc_id": doc, "score": -float(r), "rank": r})
    cands = pd.DataFrame(rows)
    contracts.write(cands, tmp_path / "bm25-train-eval.parquet", "run")
    te_qrels = qrels[qrels["query_id"].isin(set(cands["query_id"]))]
    contracts.write(te_qrels, tmp_path / "qrels-train-eval.parquet", "qrels")
    job = dataclasses.replace(args(data, tmp_path), train_eval_candidates=str(tmp_path / "bm25-train-eval.parquet"),
                              train_eval_queries=str(data / "queries-train.parquet"),
                              train_eval_qrels=str(tmp_path / "qrels-train-eval.parquet"))
    return job, cands, te_qrels


def hand_mrr(model, data, cands, qrels) -> float:
    """MRR@10 of ``model`` re-ranking ``cands``, by hand."""
    from dualrank.retrieval.rerank import score_candidates
    from dualrank.text.lookup import load_texts

    run = score_candidates(model, cands, load_texts(data / "queries-train.parquet", "queries"),
                           load_texts(data / "corpus.parquet", "corpus"))
    relevant = set(zip(qrels["query_id"], qrels["doc_id"]))
    rr = []
    for qid, g in run.groupby("query_id"):
        top = g.sort_values("score", ascending=False, kind="stable")["doc_id"].tolist()[:10]
        hits = [k for k, d in enumerate(top) if (qid, d) in relevant]
        rr.append(1.0 / (hits[0] + 1) if hits else 0.0)
    assert len(rr) == 5
    return float(np.mean(rr))


def test_train_mrr_is_measured_on_the_given_train_eval_candidates(data, tmp_path):
    """Issue 12 item 6: train MRR@10 re-ranks the train-eval split's candidates (the same for
    every model), not the run's own groups; checked by hand on a tiny case."""
    job, cands, te_qrels = train_eval_job(data, tmp_path)
    t = Trainer(T(with_training(spec("one_hot", 4), eval_every=2, early_stopping=False)), job)
    t.write_outputs(t.run())
    mrr = hand_mrr(t.model, data, cands, te_qrels)
    assert t.curve[-1]["step"] == 4
    assert t.curve[-1]["train_mrr@10"] == pytest.approx(mrr, abs=1e-6)
    assert json.loads((tmp_path / "train.json").read_text())["train_mrr@10"] == pytest.approx(mrr, abs=1e-6)


def test_train_mrr_once_scores_the_output_model_only(data, tmp_path):
    """A run no learning curve draws (TrainJob.train_mrr_once) measures train MRR@10 of its
    output model alone, into that step's row of the curve and train.json; training is the same."""
    job, _, _ = train_eval_job(data, tmp_path)
    s = T(with_training(spec("one_hot", 6), eval_every=2))
    full = Trainer(s, dataclasses.replace(job, checkpoint_dir=str(tmp_path / "a"), model_out=str(tmp_path / "ma"),
                                          curve_out=str(tmp_path / "a.parquet"), summary_out=str(tmp_path / "a.json")))
    full_summary = full.write_outputs(full.run())
    once = Trainer(s, dataclasses.replace(job, train_mrr_once=True))
    summary = once.write_outputs(once.run())
    best = summary["best_step"]
    curve = pd.read_parquet(tmp_path / "curve.parquet").set_index("step")["train_mrr@10"]
    assert best > 0 and list(curve.index) == [0, 2, 4, 6][: len(curve)]
    assert curve.drop(best).isna().all() and not np.isnan(curve[best])
    # The same weights as the full curve's run at that step (saved as the job's model), so the
    # same train MRR@10: the full curve's value is checked by hand in the test above. (A by-hand
    # scoring from raw text here is not: the 6-step model's near-tied scores rank differently
    # on another tokenisation path.)
    saved = read_weights(tmp_path / "model")
    assert all(torch.equal(w, saved[k]) for k, w in weights(once).items() if k in saved)
    assert all(torch.equal(a, b) for a, b in zip(weights(full).values(), weights(once).values()))
    full_curve = pd.read_parquet(tmp_path / "a.parquet").set_index("step")["train_mrr@10"]
    assert full_summary["best_step"] == best and full_curve.notna().all()
    assert curve[best] == full_curve[best] == summary["train_mrr@10"] == full_summary["train_mrr@10"]
    assert json.loads((tmp_path / "train.json").read_text())["train_mrr@10"] == curve[best]
