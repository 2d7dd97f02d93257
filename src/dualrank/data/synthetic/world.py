"""The synthetic world: made-up entities of three kinds and their facts, drawn from one seed.

Entities are people ("Varnok Tessel"), towns ("Tessel Vale") and companies ("Tessel Mills");
name parts are deliberately shared across entities and kinds, so lexical entity overlap is
common and only partial. With ``distinct_names`` each entity's first name part is a word of its
own ("Varnok Tessel", "Brell Vale": no other entity has "varnok" or "brell"), so one whole word
identifies the entity while the second part is still shared. Each entity has
``facts_per_entity`` facts (attribute -> value); values are other entities (a birthplace is a
town of the corpus, an employer a company), numbers, years, or words from small pools.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from dualrank.data.io import InputError
from dualrank.data.synthetic.vocabulary import (
    ATTRIBUTES,
    AWARD_SUFFIXES,
    CODAS,
    COMPANY_SUFFIXES,
    FINALS,
    INNER,
    KINDS,
    OCCUPATIONS,
    ONSETS,
    PRODUCTS,
    TOWN_SUFFIXES,
    VOWELS,
    Attribute,
)


@dataclass
class Entity:
    name: str  # display form, e.g. "Varnok Tessel"
    kind: str
    parts: tuple[str, ...]
    facts: dict[str, str] = field(default_factory=dict)  # attribute key -> value (display)


def rng_for(seed: int, flavour: str, stream: str) -> random.Random:
    """The random stream ``stream`` (world, passages, ids, queries) of a seed and flavour."""
    # A str seed is hashed with SHA-512 by random.seed: independent of PYTHONHASHSEED.
    return random.Random(f"dualrank.synthetic/{flavour}/{seed}/{stream}")


def _words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    """``n`` new pronounceable words of 2-3 syllables (capitalised), not in ``taken``."""
    out = []
    while len(out) < n:
        w = rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
        for _ in range(1 if rng.random() < 0.8 else 2):
            w += rng.choice(INNER) + rng.choice(VOWELS)
        final = rng.choice(FINALS)
        w = w + final if final != "a" or w[-1] not in VOWELS else w
        if 4 <= len(w) <= 9 and w not in taken:
            taken.add(w)
            out.append(w.capitalize())
    return out


class World:
    """Entities, their facts and the value pools, drawn from one seed."""

    def __init__(self, rng: random.Random, n_entities: int, attributes: list[Attribute],
                 facts_per_entity: int, distinct_names: bool = False):
        if n_entities < 6:
            raise InputError(f"n_entities must be at least 6 (got {n_entities})")
        taken: set[str] = set()
        n_person = round(n_entities * 0.4)
        n_town = round(n_entities * 0.3)
        n_company = n_entities - n_person - n_town
        given = _words(rng, max(6, n_person // 4), taken)
        family = _words(rng, max(8, n_entities // 4), taken)
        fresh = _words(rng, max(8, n_entities // 3), taken)
        self.countries = [w + rng.choice(("ia", "land", "mark")) for w in _words(rng, 12, taken)]
        self.languages = [w + rng.choice(("ic", "ese", "ish")) for w in _words(rng, 12, taken)]
        self.rivers = _words(rng, max(10, n_town // 3), taken)
        self.awards = [f"the {w} {rng.choice(AWARD_SUFFIXES)}" for w in _words(rng, 16, taken)]
        self.given, self.family = given, family

        names: set[str] = set()
        self.entities: list[Entity] = []

        def add(kind: str, make) -> None:
            while True:
                parts = make()
                name = " ".join(parts)
                if name not in names:
                    names.add(name)
                    self.entities.append(Entity(name, kind, parts))
                    return

        stems = family + fresh  # town and company names reuse surnames: "Tessel Vale"
        # Drawn after every other pool, so the pools above are the same either way.
        own = iter(_words(rng, n_entities, taken)) if distinct_names else None
        for _ in range(n_person):
            add("person", lambda: (next(own) if own else rng.choice(given), rng.choice(family)))
        for _ in range(n_town):
            add("town", lambda: (next(own) if own else rng.choice(stems), rng.choice(TOWN_SUFFIXES)))
        for _ in range(n_company):
            add("company", lambda: (next(own) if own else rng.choice(stems),
                                    rng.choice(COMPANY_SUFFIXES)))
        self.names = names
        self.by_kind = {k: [i for i, e in enumerate(self.entities) if e.kind == k] for k in KINDS}
        self.by_part: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entities):
            for p in e.parts:
                self.by_part[p].append(i)

        by_kind_attrs = {k: [a for a in attributes if a.kind == k] for k in KINDS}
        for e in self.entities:
            attrs = by_kind_attrs[e.kind]
            chosen = rng.sample(attrs, min(facts_per_entity, len(attrs)))
            chosen.sort(key=lambda a: ATTRIBUTES.index(a))
            birth = rng.randint(1720, 1940)
            for a in chosen:
                e.facts[a.key] = self._value(rng, a, e, birth)
        # value -> referenced entity (for the mention index)
        self.index_of = {e.name: i for i, e in enumerate(self.entities)}

    def _minor_person(self, rng: random.Random, family: str | None = None) -> str:
        """A person who is not an entity of the corpus (spouses, mayors, founders ...)."""
        while True:
            name = f"{rng.choice(self.given)} {family or rng.choice(self.family)}"
            if name not in self.names:
                return name

    def _value(self, rng: random.Random, a: Attribute, e: Entity, birth: int) -> str:
        t = a.value
        if t in ("town", "company"):
            return self.entities[rng.choice(self.by_kind[t])].name
        if t == "person":
            return self._minor_person(rng)
        if t == "relative":
            return self._minor_person(rng, family=e.parts[-1])
        if t == "year":
            if a.key == "birth_year":
                return str(birth)
            if a.key == "death_year":
                return str(birth + rng.randint(38, 95))
            if a.key == "founded":
                return str(rng.randint(850, 1850))
            return str(rng.randint(1790, 1995))
        if t == "number":
            lo, hi = {"population": (800, 950000), "area": (4, 880), "employees": (12, 48000),
                      "revenue": (2, 950)}[a.key]
            return str(rng.randint(lo, hi))
        pool = {"occupation": OCCUPATIONS, "product": PRODUCTS, "award": self.awards,
                "country": self.countries, "river": self.rivers, "language": self.languages}[t]
        return rng.choice(pool)
