"""Passages: one per fact, some indirect ones, and general passages that state no fact.

A fact passage states its fact with one of the attribute's *passage* phrasings ("Varnok Tessel
was born in Zell Vale.") plus neutral filler and, in some passages, distractor sentences that
mention a second entity or a second attribute without stating it ("The birthplace of Orrin
Tessel, by contrast, is still disputed."). A fraction of facts gets a second, indirect passage
("Parish records from Zell Vale list Varnok Tessel among the children baptised there."). Every
entity also has ``general_per_entity`` general passages that state none of its facts (like the
other chunks of an entity's article). Passages have 20-60 words.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from dualrank.data.synthetic.vocabulary import (
    ATTRIBUTE_BY_KEY,
    DISTRACT_ATTRIBUTE,
    DISTRACT_MENTION,
    DISTRACT_OTHER,
    FILLER,
    KIND_INTRO,
    KINDS,
    SUFFIXES,
    Attribute,
)
from dualrank.data.synthetic.world import World


@dataclass
class Passage:
    text: str
    entity: int  # index of the subject entity
    attribute: str  # "" for the general passage
    role: str  # fact | indirect | general
    mentions: tuple[int, ...]  # other entities named in the text
    doc_id: str = ""


def article(v: str) -> str:
    return ("an " if v[0].lower() in "aeiou" else "a ") + v


def fill(template: str, e: str, v: str = "", **kw: str) -> str:
    """A template filled in, as a sentence (capitalised)."""
    s = template.format(e=e, v=v, av=article(v) if v else "", **kw)
    return s[0].upper() + s[1:]


def build_passages(world: World, rng: random.Random, attributes: list[Attribute],
                    indirect_rate: float, distractor_rate: float,
                    general_per_entity: int) -> list[Passage]:
    ents = world.entities
    kind_attrs = {k: [a for a in attributes if a.kind == k] for k in KINDS}

    def other_entity(i: int) -> int:
        """Another entity, preferring one that shares a name part (superficial overlap)."""
        e = ents[i]
        if rng.random() < 0.6:
            pool = [j for p in e.parts if p not in SUFFIXES for j in world.by_part[p] if j != i]
            if pool:
                return rng.choice(pool)
        while True:
            j = rng.choice(world.by_kind[e.kind] if rng.random() < 0.7 else range(len(ents)))
            if j != i:
                return j

    def distractor(i: int, a: Attribute | None) -> tuple[str, tuple[int, ...]]:
        e = ents[i]
        r = rng.random()
        others = [b for b in kind_attrs[e.kind] if a is None or b.key != a.key]
        if r < 0.35 and others:  # same entity, another attribute's noun: entity + attribute words
            b = rng.choice(others)
            return fill(rng.choice(DISTRACT_ATTRIBUTE), e.name, n=b.noun), ()
        j = other_entity(i)
        if r < 0.75 and kind_attrs[ents[j].kind]:  # another entity, an attribute of its kind
            b = a if a is not None and a.kind == ents[j].kind and rng.random() < 0.6 else \
                rng.choice(kind_attrs[ents[j].kind])
            return fill(rng.choice(DISTRACT_OTHER), e.name, f=ents[j].name, n=b.noun), (j,)
        return fill(rng.choice(DISTRACT_MENTION), e.name, f=ents[j].name), (j,)

    def assemble(i: int, core: str, a: Attribute | None, mentions: tuple[int, ...],
                 n_distract: int) -> tuple[str, tuple[int, ...]]:
        e = ents[i]
        before = [fill(rng.choice(KIND_INTRO[e.kind]), e.name)] \
            if a is not None and rng.random() < 0.35 else []
        after = []
        for _ in range(n_distract):
            s, m = distractor(i, a)
            after.append(s)
            mentions += m
        fillers = rng.sample(FILLER, 4)
        n_words = sum(len(s.split()) for s in before + [core] + after)
        target = rng.randint(22, 52)
        while fillers and n_words < target:
            f = fillers.pop()
            after.append(f)
            n_words += len(f.split())
        rng.shuffle(after)
        if after and not before and rng.random() < 0.25:
            before = [after.pop()]  # sometimes the fact is not the first sentence
        while after and sum(len(s.split()) for s in before + [core] + after) > 60:
            after.pop()
        return " ".join(before + [core] + after), mentions

    out: list[Passage] = []
    for i, e in enumerate(ents):
        for key, v in e.facts.items():
            a = ATTRIBUTE_BY_KEY[key]
            ref = (world.index_of[v],) if v in world.index_of else ()
            n_d = int(rng.random() < distractor_rate) + int(rng.random() < distractor_rate / 3)
            core = fill(rng.choice(a.passage), e.name, v)
            text, m = assemble(i, core, a, ref, n_d)
            out.append(Passage(text, i, key, "fact", m))
            if rng.random() < indirect_rate:
                core = fill(rng.choice(a.indirect), e.name, v)
                text, m = assemble(i, core, a, ref, int(rng.random() < distractor_rate))
                out.append(Passage(text, i, key, "indirect", m))
        # general passages: the entity and some attribute nouns, no fact
        for intro in rng.sample(KIND_INTRO[e.kind], general_per_entity):
            text, m = assemble(i, fill(intro, e.name), None, (), 2)
            out.append(Passage(text, i, "", "general", m))
    return out


class PassageIndex:
    """Where each fact, entity and mention is found, by doc id (for the judgements)."""

    def __init__(self, passages: list[Passage]):
        self.docs_of_fact: dict[tuple[int, str], dict[str, list[str]]] = defaultdict(
            lambda: {"fact": [], "indirect": []})
        self.docs_of_entity: dict[int, list[Passage]] = defaultdict(list)
        self.mentioned_in: dict[int, list[str]] = defaultdict(list)
        for p in passages:
            self.docs_of_entity[p.entity].append(p)
            if p.attribute:
                self.docs_of_fact[(p.entity, p.attribute)][p.role].append(p.doc_id)
            for j in p.mentions:
                self.mentioned_in[j].append(p.doc_id)
        self.has_indirect = {f for f, d in self.docs_of_fact.items() if d["indirect"]}
