"""Queries and their judgements: one query per sampled fact, phrased with the attribute's *query*
phrasings, which mostly differ from the passage phrasings ("jorvik tessel hometown" vs "... was
born in ...").

Binary qrels (train, valid, dev) mark the fact passage and its indirect passage (when there is
one) relevant; with ``sparse_labels`` they mark one of the two, drawn at random, so a query with
an indirect passage has an answer nobody labelled, as MS MARCO's sparse labels leave most (paper,
Appendix C.11). The draw is what makes the unlabelled answer a false negative: were the fact
passage always the labelled one, its phrasing alone would tell a model which answer carries the
label, and a one-hot model would learn to rank the indirect phrasing low rather than to treat it
as an answer (measured: the teacher trained on such labels ranked unlabelled answers 14.7th of a
query's 21 training passages on average; docs/demo-findings.md).

dl19, a TREC DL 2019 analogue, has graded judgements: 3 the fact passage, 2 its indirect
passage, 1 a fact of the same entity from the same attribute family, 0 judged hard negatives
(up to 8).
"""

from __future__ import annotations

import random
from collections import defaultdict

import pandas as pd

from dualrank.data.io import InputError
from dualrank.data.synthetic.passages import PassageIndex
from dualrank.data.synthetic.vocabulary import ATTRIBUTE_BY_KEY, SUFFIXES, Attribute
from dualrank.data.synthetic.world import World


def select_facts(world: World, rng: random.Random, sizes: dict[str, int],
                  has_indirect: set[tuple[int, str]], splits: tuple[str, ...]
                  ) -> dict[str, list[tuple[int, str]]]:
    """The facts each split's queries ask for, as (entity index, attribute key) per split.

    Evaluation queries (valid, dev, dl19) ask for facts that no training query asks for, and
    keep a fact of each entity for training; the training queries then cover every entity
    and attribute type of the evaluation queries first.
    """
    facts = [(i, k) for i, e in enumerate(world.entities) for k in e.facts]
    total = sum(sizes[s] for s in splits)
    if total > len(facts):
        raise InputError(
            f"{total} queries requested but the world has only {len(facts)} facts; "
            "raise n_entities or facts_per_entity, or ask for fewer queries"
        )
    rng.shuffle(facts)
    eval_taken: dict[int, int] = defaultdict(int)
    used: set[tuple[int, str]] = set()
    chosen: dict[str, list[tuple[int, str]]] = {}

    def n_facts(i: int) -> int:
        return len(world.entities[i].facts)

    def take(candidates, n):
        got = []
        for f in candidates:
            if len(got) == n:
                break
            if f in used or eval_taken[f[0]] >= n_facts(f[0]) - 1:
                continue  # keep a fact of each entity for training
            got.append(f)
            used.add(f)
            eval_taken[f[0]] += 1
        return got

    if "dl19" in splits:
        # graded pools need a fact of the same family (grade 1); half have an indirect passage
        def related(f):
            fam = ATTRIBUTE_BY_KEY[f[1]].family
            return any(ATTRIBUTE_BY_KEY[k].family == fam and k != f[1]
                       for k in world.entities[f[0]].facts)
        cands = [f for f in facts if related(f)]
        first = take([f for f in cands if f in has_indirect], (sizes["dl19"] + 1) // 2)
        chosen["dl19"] = first + take(cands, sizes["dl19"] - len(first))
    for s in ("valid", "dev"):
        chosen[s] = take(facts, sizes[s])
    for s in [s for s in splits if s != "train"]:
        if len(chosen[s]) < sizes[s]:
            raise InputError(
                f"could draw only {len(chosen[s])} of {sizes[s]} {s} queries: evaluation queries "
                "need entities with several facts (and, for dl19, two facts of one attribute "
                "family); raise n_attributes, n_entities or facts_per_entity")

    # training: first cover every entity and attribute of the evaluation queries
    rest = [f for f in facts if f not in used]
    train: list[tuple[int, str]] = []
    need_e = {i for s in chosen for i, _ in chosen[s]}
    need_a = {k for s in chosen for _, k in chosen[s]}
    for f in rest:
        if f[0] in need_e or f[1] in need_a:
            train.append(f)
            need_e.discard(f[0])
            need_a.discard(f[1])
    train = train[: sizes["train"]]
    picked = set(train)
    train += [f for f in rest if f not in picked][: sizes["train"] - len(train)]
    rng.shuffle(train)
    chosen["train"] = train
    return {s: chosen[s] for s in splits}


def query_text(a: Attribute, entity: str, flavour: str, rng: random.Random) -> str:
    templates = a.query_nq if flavour == "nq" else a.query_msmarco
    return rng.choice(templates).format(e=entity.lower())


def _judgements(world: World, index: PassageIndex, qid: str, i: int, key: str, graded: bool,
                rng: random.Random, label_rng: random.Random | None = None
                ) -> list[tuple[str, str, int]]:
    """The qrels of the query ``qid`` for the fact (entity ``i``, attribute ``key``); with
    ``label_rng`` (sparse labels: the labels' own random stream), binary qrels label one of the
    fact's answering passages, drawn from it, and leave the other unlabelled (graded ones judge
    both)."""
    d = index.docs_of_fact[(i, key)]
    if not graded:
        answers = d["fact"] + d["indirect"]
        if label_rng is not None and len(answers) > 1:
            answers = [label_rng.choice(answers)]
        return [(qid, doc, 1) for doc in answers]
    ents = world.entities
    a = ATTRIBUTE_BY_KEY[key]
    judged = {doc: 3 for doc in d["fact"]} | {doc: 2 for doc in d["indirect"]}
    for p in index.docs_of_entity[i]:
        if p.attribute and p.attribute != key and \
                ATTRIBUTE_BY_KEY[p.attribute].family == a.family:
            judged[p.doc_id] = 1
    hard = [p.doc_id for p in index.docs_of_entity[i] if p.doc_id not in judged]
    hard += [doc for doc in index.mentioned_in[i] if doc not in judged]
    for part in set(ents[i].parts) - set(SUFFIXES):  # same attribute, shared name part
        for j in world.by_part[part]:
            if j != i and key in ents[j].facts:
                hard += index.docs_of_fact[(j, key)]["fact"]
    hard = sorted(set(hard), key=lambda x: int(x[1:]))
    for doc in rng.sample(hard, min(len(hard), 8)):
        judged[doc] = 0
    return [(qid, doc, g) for doc, g in judged.items()]


def _qrels_table(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    qrels = pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"])
    qrels["relevance"] = qrels["relevance"].astype("int8")
    return qrels.sort_values(
        ["query_id", "relevance", "doc_id"], ascending=[True, False, True],
        key=lambda c: c.str[1:].astype(int) if c.name != "relevance" else c,
        ignore_index=True)


def query_tables(world: World, index: PassageIndex, chosen: dict[str, list[tuple[int, str]]],
                 flavour: str, rng: random.Random, label_rng: random.Random | None = None
                 ) -> tuple[dict[str, pd.DataFrame], list[tuple]]:
    """``queries-{split}`` and ``qrels-{split}`` of the chosen facts (query ids q0, q1, ... in
    split order), and the truth behind each query (query_id, split, entity, attribute,
    family, value). ``label_rng`` (sparse labels), a random stream of its own so that the query
    texts stay those of the fully labelled data, draws the one labelled answer of each binary
    query."""
    ents = world.entities
    out: dict[str, pd.DataFrame] = {}
    meta = []
    next_q = 0
    for s, facts in chosen.items():
        q_rows, r_rows = [], []
        for i, key in facts:
            qid = f"q{next_q}"
            next_q += 1
            a = ATTRIBUTE_BY_KEY[key]
            q_rows.append((qid, query_text(a, ents[i].name, flavour, rng)))
            meta.append((qid, s, ents[i].name, key, a.family, ents[i].facts[key]))
            r_rows += _judgements(world, index, qid, i, key, s == "dl19", rng, label_rng)
        out[f"queries-{s}"] = pd.DataFrame(q_rows, columns=["query_id", "text"])
        out[f"qrels-{s}"] = _qrels_table(r_rows)
    return out, meta
