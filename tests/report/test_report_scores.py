"""The report's computations on hand-made scores (score distributions, centring, normalised
margins, discrepancy, disagreement), and the paper's reference values against the paper's text."""

import re

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from dualrank.data.io import InputError
from dualrank.report import common, scores

PAPER = SHARED / "paper" / "in-defense-of-dual-encoders.txt"


def frame(rows, cols=("query_id", "doc_id", "score")):
    return pd.DataFrame(rows, columns=list(cols))


def test_labelled_keeps_judged_queries_and_grades_unjudged_as_zero():
    run = frame([("q1", "a", 3.0), ("q1", "b", 1.0), ("q2", "d", 0.5), ("q2", "e", 0.2), ("q9", "x", 7.0)])
    qrels = pd.DataFrame({"query_id": ["q1", "q1", "q2"], "doc_id": ["a", "z", "e"], "relevance": [1, 1, 2]})
    out = scores.labelled(run, qrels, rel_level=2)
    # q9 has no judgment: dropped. z is judged but not in the run: not a pair.
    assert out[["query_id", "doc_id", "label"]].values.tolist() == [
        ["q1", "a", 1], ["q1", "b", 0], ["q2", "d", 0], ["q2", "e", 2]]
    assert out["positive"].tolist() == [False, False, False, True]   # grade 1 < rel_level 2
    assert scores.labelled(run, qrels, 1)["positive"].tolist() == [True, False, False, True]


def test_centre_and_range():
    assert scores.centre(np.array([1.0, 2.0, 6.0])).tolist() == [-2.0, -1.0, 3.0]
    assert scores.score_range(np.array([700.0, 650.5, 712.0])) == 61.5


def test_normalised_margins_by_hand():
    pairs = pd.DataFrame({
        "query_id": ["q1", "q1", "q1", "q2", "q2", "q2", "q3", "q3"],
        "score": [5.0, 1.0, 3.0, 2.0, 4.0, 0.0, 10.0, -10.0],
        "positive": [True, False, False, True, True, False, False, False]})
    # q1: 5-1, 5-3; q2: 2-0, 4-0; q3 has no positive: no margin, but its scores set rho = 20.
    assert scores.normalised_margins(pairs).tolist() == pytest.approx([4 / 20, 2 / 20, 2 / 20, 4 / 20])
    pairs.loc[pairs["query_id"] == "q3", "score"] = [1.0, 1.0]
    # rho = 5 - 0 now.
    assert scores.normalised_margins(pairs).tolist() == pytest.approx([0.8, 0.4, 0.4, 0.8])
    flat = pairs.assign(score=2.0)
    with pytest.raises(InputError, match="score range 0"):
        scores.normalised_margins(flat)


def test_density_integrates_to_one_on_uneven_bins():
    d = scores.density(np.array([0.0, 0.1, 0.2, 1.5]), np.array([0.0, 0.5, 2.0]))
    assert d.tolist() == pytest.approx([3 / (4 * 0.5), 1 / (4 * 1.5)])
    assert float((d * np.array([0.5, 1.5])).sum()) == pytest.approx(1.0)
    assert scores.density(np.array([]), np.array([0.0, 1.0])).tolist() == [0.0]
    assert scores.shared_edges([np.array([3.0, 3.0])], 2).tolist() == [2.5, 3.0, 3.5]
    assert scores.shared_edges([np.array([0.0]), np.array([4.0])], 4).tolist() == [0, 1, 2, 3, 4]


def test_discrepancy_z_scores_each_model_over_shared_pairs():
    low = frame([("q1", "a", 0.0), ("q1", "b", 0.0), ("q2", "c", 2.0), ("q2", "d", 2.0), ("q3", "only", 9.0)])
    high = frame([("q1", "a", 10.0), ("q1", "b", 30.0), ("q2", "c", 10.0), ("q2", "d", 30.0)])
    d = scores.discrepancy(low, high, ("CA", "DE"))
    # low: mean 1, std 1 -> z -1, -1, 1, 1; high: mean 20, std 10 -> z -1, 1, -1, 1.
    assert d["doc_id"].tolist() == ["b", "a", "d", "c"]    # ties (0) by query, doc id
    assert d["discrepancy"].tolist() == pytest.approx([2.0, 0.0, 0.0, -2.0])
    assert d["z_low"].tolist() == pytest.approx([-1.0, -1.0, 1.0, 1.0])
    with pytest.raises(InputError, match="CA: constant"):
        scores.discrepancy(low.assign(score=1.0), high, ("CA", "DE"))


def test_discrepancy_within_queries_and_distinct_pairs():
    low = frame([("q1", "a", 0.0), ("q1", "b", 2.0), ("q2", "a", 5.0), ("q2", "d", 7.0), ("q3", "e", 1.0),
                 ("q3", "f", 1.0)])
    high = frame([("q1", "a", 1.0), ("q1", "b", 0.0), ("q2", "a", 100.0), ("q2", "d", 300.0), ("q3", "e", 0.0),
                  ("q3", "f", 5.0)])
    d = scores.discrepancy(low, high, by_query=True)
    # q1: z_low (-1, 1), z_high (1, -1); q2: both (-1, 1); q3: CA constant -> no z, left out.
    assert list(zip(d["query_id"], d["doc_id"])) == [("q1", "a"), ("q2", "a"), ("q2", "d"), ("q1", "b")]
    assert d["discrepancy"].tolist() == pytest.approx([2.0, 0.0, 0.0, -2.0])
    # Greedy: (q2, a) repeats passage a, so q2 is shown with d; (q1, b) repeats q1.
    assert list(zip(*[scores.distinct(d, 10)[k] for k in ("query_id", "doc_id")])) == [("q1", "a"), ("q2", "d")]
    assert len(scores.distinct(d, 1)) == 1


def test_disagreement_by_query():
    a = pd.DataFrame({"query_id": ["q1", "q2", "q3", "q4"], "mrr@10": [1.0, 0.5, 0.0, 1 / 3]})
    b = pd.DataFrame({"query_id": ["q1", "q2", "q3", "q4"], "mrr@10": [1.0, 1.0, 0.0, 0.25]})
    assert scores.disagreement(a, b)["better"].tolist() == ["agree", "b", "agree", "a"]


def test_embedding_width_from_cell_or_name():
    from dualrank.report.figures import width
    assert width({"dir": "r", "encoder": "bert-6-512", "hidden": 64}) == 64      # the trained shape wins
    assert width({"dir": "r", "encoder": "bert-2-256"}) == 256
    assert width({"dir": "r", "encoder": "bert-base"}) == 768
    with pytest.raises(InputError, match="does not name its width"):
        width({"dir": "r", "encoder": "tiny"})


def test_stage_order():
    assert scores.stage_order(["final", "step100", "init", "step20", "final"]) == ["init", "step20", "step100", "final"]
    with pytest.raises(InputError, match="unknown snapshot stage 'best'"):
        scores.stage_order(["best"])


HEADERS = {2: "**MRR@10 train**", 4: "**Model** **Supervision**", 5: "**Model** **Supervision**",
           6: "**# of documents**", 7: "**MSMARCO rerank**", 8: "**Smoothing", 9: "**Strategy**",
           12: "**Supervision** **Loss**"}


@pytest.mark.skipif(not PAPER.exists(), reason=f"{PAPER} not present")
@pytest.mark.parametrize("n", sorted(HEADERS))
def test_reference_values_are_the_papers_in_order(n):
    """Every number of paper.csv for a table, in file order, is the sequence of three-decimal
    numbers of that table in the paper's text (header to caption)."""
    lines = PAPER.read_text().splitlines()
    cap = next(i for i, line in enumerate(lines) if line.startswith(f"Table {n}:"))
    start = max(i for i in range(cap) if lines[i].startswith(HEADERS[n]))
    text = re.findall(r"\b\d\.\d{3}\b", "\n".join(lines[start:cap]))
    ours = [f"{v:.3f}" for v in common.paper(f"table{n}").values()]
    assert ours == text
