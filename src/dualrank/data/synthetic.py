"""A seeded synthetic IR dataset in which the paper's CA/DE phenomenon exists (the demo preset).

DESIGN.md, "The demo preset": queries ask for an (entity, attribute) pair; the relevant
passage states that pair; hard negatives share the entity or the attribute words but not the
pair — the superficial overlap of the paper's Table 3.

The world
    Made-up but pronounceable entities of three kinds (people, towns, companies), e.g.
    "Varnok Tessel", "Tessel Vale", "Tessel Mills". Name parts are deliberately shared across
    entities and kinds, so lexical entity overlap is common and only partial.
    Each kind has 7-9 attribute types (23 in all: birthplace, year of death, mayor,
    population, founder, headquarters, ...), grouped into families of related attributes
    (birthplace and birth year are both "birth"). Each entity has ``facts_per_entity``
    facts (entity, attribute, value); values are other entities (a birthplace is a town
    of the corpus, an employer a company), numbers, years, or words from small pools.

Passages
    One passage per fact, stating it with one of the attribute's *passage* phrasings
    ("Varnok Tessel was born in Zell Vale.") plus neutral filler and, in some passages,
    distractor sentences that mention a second entity or a second attribute without stating
    it ("The birthplace of Orrin Tessel, by contrast, is still disputed."). A fraction of
    facts gets a second, indirect passage ("Parish records from Zell Vale list Varnok Tessel
    among the children baptised there."). Every entity also has ``general_per_entity``
    general passages that state none of its facts (like the other chunks of an entity's
    article). Passages have 20-60 words; doc ids are "d0", "d1", ... in a shuffled order
    (ids carry no information). Defaults: 440 entities, about 4,500 passages.

Queries
    One query per sampled fact, phrased with the attribute's *query* phrasings, which mostly
    differ from the passage phrasings ("jorvik tessel hometown" vs "... was born in ..."):
    BM25 finds the entity's passages through the name but mostly cannot tell which
    attribute is asked for (BM25 k1=0.9 b=0.4 MRR@10 on dev about 0.3 for msmarco, 0.35 for
    nq; recall@100 is 1), while a model that reads query and passage jointly can learn which
    phrasing goes with which and that a distractor's attribute belongs to another entity.
    Evaluation queries (valid, dev, dl19) ask for facts that no training query asks for,
    about entities and attribute types that the training queries cover.

Flavours
    ``msmarco``: keyword-style and question queries; splits train, valid, dev and dl19 (a TREC
    DL 2019 analogue with graded judgements: 3 the fact passage, 2 its indirect passage,
    1 a fact of the same entity from the same attribute family, 0 judged hard negatives).
    ``nq``: natural questions ("who founded tessel mills"), passages with their entity as
    title ("Title. text"); splits train, valid, dev.

Binary qrels (train, valid, dev) mark the fact passage and its indirect passage (when there is
one) relevant, so every query has one or two relevant passages. The same seed gives the same
tables, byte for byte; the corpus does not depend on the number of queries requested.

Entry point::

    python -m dualrank.data.synthetic --flavour msmarco --seed 0 --out-dir data/demo/msmarco

writes ``corpus.parquet``, ``queries-{split}.parquet`` and ``qrels-{split}.parquet`` through
:func:`dualrank.data.contracts.write`; ``--with-meta`` adds the structured truth behind each passage
and query (``meta-*.parquet``, not a contract) for analyses such as the Table 3 analogue.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import InputError
from dualrank.cli.logs import entry_point

log = logging.getLogger("dualrank.synthetic")

FLAVOURS: dict[str, tuple[str, ...]] = {
    "msmarco": ("train", "valid", "dev", "dl19"),
    "nq": ("train", "valid", "dev"),
}

KINDS = ("person", "town", "company")


@dataclass(frozen=True)
class Attribute:
    """An attribute type: how passages state it and how queries ask for it.

    Templates use ``{e}`` (the entity), ``{v}`` (the value) and ``{av}`` (the value with its
    indefinite article). ``noun`` names the attribute in distractor sentences.
    """

    key: str
    kind: str
    family: str
    value: str  # value type, see _VALUE_REGEX
    noun: str
    passage: tuple[str, ...]
    indirect: tuple[str, ...]
    query_msmarco: tuple[str, ...]
    query_nq: tuple[str, ...]


ATTRIBUTES: tuple[Attribute, ...] = (
    # ---- people -------------------------------------------------------------------------
    Attribute(
        "birthplace", "person", "birth", "town", "birthplace",
        ("{e} was born in {v}.", "{v} is the town where {e} came into the world.",
         "{e} spent the first days of life in {v}, the family home at the time."),
        ("Parish records from {v} list {e} among the children baptised there.",),
        ("where was {e} born", "{e} birthplace", "{e} hometown", "place of birth of {e}",
         "what town is {e} from"),
        ("where was {e} born", "what is the birthplace of {e}", "which town does {e} come from"),
    ),
    Attribute(
        "birth_year", "person", "birth", "year", "year of birth",
        ("{e} was born in the year {v}.", "{e} first saw daylight in {v}.",
         "The records give {v} as the year that {e} arrived."),
        ("A baptism entry dated {v} names the infant {e}.",),
        ("when was {e} born", "{e} birth year", "{e} date of birth", "how old is {e}", "{e} age"),
        ("when was {e} born", "in what year was {e} born", "what year was {e} born"),
    ),
    Attribute(
        "deathplace", "person", "death", "town", "place of death",
        ("{e} died in {v}.", "{e} spent the final days of life in {v}.",
         "{v} is the town where {e} passed away."),
        ("The grave of {e} lies in the old cemetery of {v}, where the final illness struck.",),
        ("where did {e} die", "{e} place of death", "{e} death location",
         "town where {e} passed away"),
        ("where did {e} die", "in which town did {e} die", "where did {e} pass away"),
    ),
    Attribute(
        "death_year", "person", "death", "year", "year of death",
        ("{e} died in the year {v}.", "The life of {e} came to an end in {v}.",
         "{e} passed away in {v}."),
        ("A memorial stone dated {v} marks the passing of {e}.",),
        ("when did {e} die", "{e} death year", "what year did {e} die", "{e} date of death",
         "how long ago did {e} die"),
        ("when did {e} die", "what year did {e} die", "what was the year of death of {e}"),
    ),
    Attribute(
        "occupation", "person", "career", "occupation", "profession",
        ("{e} worked as {av}.", "By trade, {e} was {av}.", "{e} earned a living as {av}."),
        ("Apprentices who trained under {e} went on to become {v}s themselves.",),
        ("what did {e} do for a living", "{e} job", "{e} profession",
         "what was the occupation of {e}", "{e} career"),
        ("what was the job of {e}", "what did {e} do for a living", "what profession did {e} have"),
    ),
    Attribute(
        "employer", "person", "career", "company", "employer",
        ("{e} was employed by {v}.", "For many years {e} worked for {v}.",
         "{v} hired {e} at a young age."),
        ("The staff ledger of {v} lists {e} among its long-serving members.",),
        ("who did {e} work for", "{e} employer", "which company hired {e}", "where did {e} work",
         "{e} workplace"),
        ("who did {e} work for", "which company employed {e}", "where did {e} work"),
    ),
    Attribute(
        "award", "person", "career", "award", "honours",
        ("{e} received {v}.", "{e} was honoured with {v}.", "{v} was awarded to {e}."),
        ("At the ceremony for {v}, {e} gave a short speech of thanks.",),
        ("what prize did {e} win", "{e} awards", "{e} honours", "what award did {e} get"),
        ("what award did {e} win", "which prize was given to {e}", "what honour did {e} receive"),
    ),
    Attribute(
        "spouse", "person", "kin", "person", "marriage",
        ("{e} was married to {v}.", "{e} and {v} were wed in a small ceremony.",
         "The spouse of {e} was {v}."),
        ("Letters between {e} and {v} speak of a long and happy marriage.",),
        ("who was {e} married to", "{e} husband or wife", "{e} spouse", "who did {e} marry",
         "{e} partner"),
        ("who was {e} married to", "who is the spouse of {e}", "who did {e} marry"),
    ),
    Attribute(
        "sibling", "person", "kin", "relative", "family",
        ("{e} grew up together with a sibling, {v}.", "{e} and {v} were raised by the same parents.",
         "{v}, born two years after {e}, was the only other child in the family."),
        ("{v} and {e} shared a childhood home.",),
        ("{e} brother or sister", "who was the sibling of {e}", "{e} siblings",
         "does {e} have a brother", "{e} family members"),
        ("who was the sibling of {e}", "did {e} have any brothers or sisters",
         "who was the brother or sister of {e}"),
    ),
    # ---- towns --------------------------------------------------------------------------
    Attribute(
        "population", "town", "size", "number", "population",
        ("{e} has {v} inhabitants.", "Some {v} people live in {e}.",
         "The town of {e} is home to {v} residents."),
        ("The last census counted {v} souls within the limits of {e}.",),
        ("population of {e}", "how many people live in {e}", "{e} number of residents",
         "how big is {e}", "{e} inhabitants"),
        ("what is the population of {e}", "how many people live in {e}",
         "how many residents does {e} have"),
    ),
    Attribute(
        "area", "town", "size", "number", "size",
        ("{e} covers {v} square kilometres.", "The land area of {e} is {v} hectares.",
         "{e} stretches over {v} hectares of fields and streets."),
        ("Walking the full boundary of {e} means circling {v} square kilometres.",),
        ("how large is {e}", "{e} area", "{e} size in km2", "total land of {e}",
         "how many square miles is {e}"),
        ("what is the area of {e}", "how large is {e}", "how many square miles is {e}"),
    ),
    Attribute(
        "country", "town", "location", "country", "nation",
        ("{e} is a town in {v}.", "{e} lies within the borders of {v}.",
         "{v} counts {e} among its towns."),
        ("Travellers reach {e} shortly after crossing into {v}.",),
        ("what country is {e} in", "{e} country", "{e} located in which nation", "where is {e}",
         "{e} is in what country"),
        ("what country is {e} in", "in which country is {e} located",
         "which nation does {e} belong to"),
    ),
    Attribute(
        "river", "town", "location", "river", "waterway",
        ("{e} lies on the banks of the river {v}.", "The {v} flows through the middle of {e}.",
         "{e} grew up along the {v}, a slow and wide stream."),
        ("Boats from {e} carry goods down the {v} to the sea.",),
        ("what river is {e} on", "{e} river", "which stream runs through {e}", "{e} waterfront"),
        ("what body of water runs past {e}", "which river is {e} on",
         "which waterway passes {e}"),
    ),
    Attribute(
        "mayor", "town", "civic", "person", "government",
        ("{v} is the mayor of {e}.", "{e} is governed by {v}.",
         "The town council of {e} is led by {v}."),
        ("Every new law in {e} carries the signature of {v}.",),
        ("who runs {e}", "{e} mayor", "who is in charge of {e}", "{e} town leader",
         "who governs {e}"),
        ("who is the mayor of {e}", "who runs the town of {e}", "who heads the local government of {e}"),
    ),
    Attribute(
        "founded", "town", "history", "year", "history",
        ("{e} was founded in {v}.", "The first houses of {e} were built in {v}.",
         "{e} dates back to {v}."),
        ("In {v} settlers cleared the land where {e} now stands.",),
        ("when was {e} built", "how old is {e}", "{e} founding date", "when was {e} established",
         "{e} history"),
        ("when was {e} founded", "what year was {e} established", "how old is the town of {e}"),
    ),
    Attribute(
        "language", "town", "culture", "language", "language",
        ("People in {e} speak {v}.", "The main tongue heard in {e} is {v}.",
         "In {e}, most families talk to each other in {v}."),
        ("Street signs in {e} are written in {v}.",),
        ("what language is spoken in {e}", "{e} language", "{e} official language",
         "what do people in {e} speak"),
        ("what language do locals use in {e}", "what is the main language of {e}",
         "which language is spoken in {e}"),
    ),
    # ---- companies ----------------------------------------------------------------------
    Attribute(
        "founder", "company", "leadership", "person", "origins",
        ("{e} was founded by {v}.", "{v} started {e} with a small loan.",
         "{e} owes its existence to {v}, who set it up."),
        ("The portrait of {v}, who built {e} from nothing, hangs in its entrance hall.",),
        ("who founded {e}", "{e} founder", "who started {e}", "who created {e}"),
        ("who founded {e}", "who was the founder of {e}", "who set up the company {e}"),
    ),
    Attribute(
        "ceo", "company", "leadership", "person", "management",
        ("{v} is the chief executive of {e}.", "{e} is run by {v}.",
         "Since last year {e} has been headed by {v}."),
        ("Shareholders of {e} meet each spring to hear a report from {v}.",),
        ("who is the ceo of {e}", "{e} ceo", "who runs {e}", "{e} boss", "who leads {e}"),
        ("who is the ceo of {e}", "who is in charge of {e}", "who runs the company {e}"),
    ),
    Attribute(
        "headquarters", "company", "location", "town", "offices",
        ("{e} has its head office in {v}.", "{e} is based in {v}.",
         "The main offices of {e} are in {v}."),
        ("Letters to {e} are addressed to a building in central {v}.",),
        ("where is {e} headquartered", "{e} headquarters", "where is {e} based", "{e} hq",
         "{e} address"),
        ("where is the headquarters of {e}", "where is {e} based", "in which town is {e} located"),
    ),
    Attribute(
        "established", "company", "history", "year", "beginnings",
        ("{e} opened for business in {v}.", "{e} has been trading since {v}.",
         "{e} was set up in {v}."),
        ("The oldest invoice of {e} is dated {v}.",),
        ("when was {e} founded", "{e} year established", "how old is {e}", "when did {e} start",
         "{e} founding year"),
        ("when was {e} founded", "what year was {e} established", "when did {e} open"),
    ),
    Attribute(
        "employees", "company", "size", "number", "workforce",
        ("{e} employs {v} people.", "{e} has a staff of {v}.",
         "About {v} workers are on the payroll of {e}."),
        ("Each morning {v} employees clock in at {e}.",),
        ("how many employees does {e} have", "{e} number of employees", "{e} workforce",
         "how big is {e}", "{e} staff size"),
        ("how many people work at {e}", "how many employees does {e} have",
         "what is the size of the workforce at {e}"),
    ),
    Attribute(
        "revenue", "company", "size", "number", "finances",
        ("{e} earned {v} million crowns last year.", "Yearly sales at {e} reach {v} million crowns.",
         "{e} brings in {v} million crowns a year."),
        ("The ledgers of {e} show {v} million crowns flowing in over the last twelve months.",),
        ("how much money does {e} make", "{e} revenue", "{e} annual sales", "{e} income",
         "how much does {e} earn"),
        ("how much money does {e} make", "what is the annual revenue of {e}",
         "how much does {e} take in annually"),
    ),
    Attribute(
        "product", "company", "business", "product", "goods",
        ("{e} is known for making {v}.", "{e} manufactures {v}.",
         "The best-known goods of {e} are {v}."),
        ("Shops across the region stock {v} made by {e}.",),
        ("what does {e} sell", "{e} products", "what does {e} make", "{e} known for",
         "what is made at {e}"),
        ("what does {e} make", "what products does {e} sell", "what is {e} famous for"),
    ),
)

ATTRIBUTE_BY_KEY: dict[str, Attribute] = {a.key: a for a in ATTRIBUTES}

_OCCUPATIONS = (
    "weaver", "astronomer", "ship builder", "glassblower", "cartographer", "schoolteacher",
    "physician", "clockmaker", "stonemason", "poet", "painter", "botanist", "merchant",
    "lawyer", "violinist", "architect", "printer", "brewer", "engineer", "surveyor",
)
_PRODUCTS = (
    "glass lanterns", "wool blankets", "river barges", "copper kettles", "pocket watches",
    "printing presses", "farm tools", "leather boots", "paper maps", "ceramic tiles",
    "sailcloth", "bicycles", "telescopes", "candles", "soap", "fishing nets", "church bells",
    "wooden toys", "sewing machines", "barometers",
)
_TOWN_SUFFIXES = ("Vale", "Ford", "Crossing", "Harbour", "Hollow", "Bridge", "Field", "Mount")
_COMPANY_SUFFIXES = ("Works", "Mills", "Trading", "Foundry", "Brothers", "Shipping", "Press",
                     "Holdings")
_SUFFIXES = _TOWN_SUFFIXES + _COMPANY_SUFFIXES
_AWARD_SUFFIXES = ("Medal", "Prize", "Cup", "Award")
_KIND_INTRO = {
    "person": ("{e} was a well-known figure in the region.", "{e} led a long and busy life.",
               "Many local stories mention {e}."),
    "town": ("{e} is a quiet market town.", "{e} is a small settlement in the hills.",
             "{e} is an old trading town."),
    "company": ("{e} is a family-run business.", "{e} is a firm with a long history.",
                "{e} is one of the older companies of the region."),
}
_FILLER = (
    "This detail appears in several local histories.",
    "The information was confirmed by a later survey.",
    "Visitors to the archive often ask about it.",
    "Older maps and letters point the same way.",
    "Most guidebooks repeat this without further comment.",
    "Few people outside the region know this today.",
    "The old newspapers reported it at the time.",
    "A short note in the county almanac says as much.",
    "Historians have found little reason to doubt it.",
    "The story is still told at the weekly market.",
    "Schoolchildren learn about it in their first years.",
    "It is mentioned in a travel diary from the period.",
    "The account was written down by a local clerk.",
    "Copies of the documents are kept in the library.",
    "The same facts appear in an encyclopedia entry.",
    "A small exhibition once covered the subject.",
    "Not every record from those years has survived.",
    "Two independent sources give the same account.",
)
# Sentences that mention an attribute (its noun) or a second entity without stating a fact.
_DISTRACT_ATTRIBUTE = (
    "Sources disagree about the {n} of {e}.",
    "Little has been written about the {n} of {e}.",
    "The matter of the {n} of {e} is left for another article.",
)
_DISTRACT_OTHER = (
    "The question of the {n} of {f}, by contrast, is still disputed.",
    "Unlike {f}, about whose {n} much is known, {e} left few papers behind.",
    "Readers should not confuse this with the {n} of {f}.",
)
_DISTRACT_MENTION = (
    "{e} is sometimes confused with {f}.",
    "A similar story is told about {f}.",
    "{f} appears in the same records.",
)

_NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)+"
_VALUE_REGEX = {
    "town": _NAME, "company": _NAME, "person": _NAME, "relative": _NAME,
    "year": r"\d{3,4}", "number": r"\d+",
    "occupation": r"[a-z]+(?: [a-z]+)?", "product": r"[a-z]+(?: [a-z]+)?",
    "award": r"[Tt]he [A-Z][a-z]+ (?:" + "|".join(_AWARD_SUFFIXES) + ")",
    "country": r"[A-Z][a-z]+", "river": r"[A-Z][a-z]+", "language": r"[A-Z][a-z]+",
}


@dataclass
class Entity:
    name: str  # display form, e.g. "Varnok Tessel"
    kind: str
    parts: tuple[str, ...]
    facts: dict[str, str] = field(default_factory=dict)  # attribute key -> value (display)


@dataclass
class Passage:
    text: str
    entity: int  # index of the subject entity
    attribute: str  # "" for the general passage
    role: str  # fact | indirect | general
    mentions: tuple[int, ...]  # other entities named in the text
    doc_id: str = ""


def _rng(seed: int, flavour: str, stream: str) -> random.Random:
    # A str seed is hashed with SHA-512 by random.seed: independent of PYTHONHASHSEED.
    return random.Random(f"dualrank.synthetic/{flavour}/{seed}/{stream}")


# ------------------------------------------------------------------------------- names ----

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "sh",
           "br", "kr", "tr", "st", "dr", "gr", "h", "j")
_INNER = ("b", "d", "g", "k", "l", "m", "n", "r", "s", "t", "v", "z", "th")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o")
_CODAS = ("", "", "", "n", "r", "l", "s")
_FINALS = ("n", "r", "l", "k", "s", "th", "m", "rn", "ld", "ck", "", "a")


def _words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    """``n`` new pronounceable words of 2-3 syllables (capitalised), not in ``taken``."""
    out = []
    while len(out) < n:
        w = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        for _ in range(1 if rng.random() < 0.8 else 2):
            w += rng.choice(_INNER) + rng.choice(_VOWELS)
        final = rng.choice(_FINALS)
        w = w + final if final != "a" or w[-1] not in _VOWELS else w
        if 4 <= len(w) <= 9 and w not in taken:
            taken.add(w)
            out.append(w.capitalize())
    return out


def _article(v: str) -> str:
    return ("an " if v[0].lower() in "aeiou" else "a ") + v


class _World:
    """Entities, their facts and the value pools, drawn from one seed."""

    def __init__(self, rng: random.Random, n_entities: int, attributes: list[Attribute],
                 facts_per_entity: int):
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
        self.awards = [f"the {w} {rng.choice(_AWARD_SUFFIXES)}" for w in _words(rng, 16, taken)]
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
        for _ in range(n_person):
            add("person", lambda: (rng.choice(given), rng.choice(family)))
        for _ in range(n_town):
            add("town", lambda: (rng.choice(stems), rng.choice(_TOWN_SUFFIXES)))
        for _ in range(n_company):
            add("company", lambda: (rng.choice(stems), rng.choice(_COMPANY_SUFFIXES)))
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
        pool = {"occupation": _OCCUPATIONS, "product": _PRODUCTS, "award": self.awards,
                "country": self.countries, "river": self.rivers, "language": self.languages}[t]
        return rng.choice(pool)


def _fill(template: str, e: str, v: str = "", **kw: str) -> str:
    s = template.format(e=e, v=v, av=_article(v) if v else "", **kw)
    return s[0].upper() + s[1:]


def _build_passages(world: _World, rng: random.Random, attributes: list[Attribute],
                    indirect_rate: float, distractor_rate: float,
                    general_per_entity: int) -> list[Passage]:
    ents = world.entities
    kind_attrs = {k: [a for a in attributes if a.kind == k] for k in KINDS}

    def other_entity(i: int) -> int:
        """Another entity, preferring one that shares a name part (superficial overlap)."""
        e = ents[i]
        if rng.random() < 0.6:
            pool = [j for p in e.parts if p not in _SUFFIXES for j in world.by_part[p] if j != i]
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
            return _fill(rng.choice(_DISTRACT_ATTRIBUTE), e.name, n=b.noun), ()
        j = other_entity(i)
        if r < 0.75 and kind_attrs[ents[j].kind]:  # another entity, an attribute of its kind
            b = a if a is not None and a.kind == ents[j].kind and rng.random() < 0.6 else \
                rng.choice(kind_attrs[ents[j].kind])
            return _fill(rng.choice(_DISTRACT_OTHER), e.name, f=ents[j].name, n=b.noun), (j,)
        return _fill(rng.choice(_DISTRACT_MENTION), e.name, f=ents[j].name), (j,)

    def assemble(i: int, core: str, a: Attribute | None, mentions: tuple[int, ...],
                 n_distract: int) -> tuple[str, tuple[int, ...]]:
        e = ents[i]
        before = [_fill(rng.choice(_KIND_INTRO[e.kind]), e.name)] \
            if a is not None and rng.random() < 0.35 else []
        after = []
        for _ in range(n_distract):
            s, m = distractor(i, a)
            after.append(s)
            mentions += m
        fillers = rng.sample(_FILLER, 4)
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
            core = _fill(rng.choice(a.passage), e.name, v)
            text, m = assemble(i, core, a, ref, n_d)
            out.append(Passage(text, i, key, "fact", m))
            if rng.random() < indirect_rate:
                core = _fill(rng.choice(a.indirect), e.name, v)
                text, m = assemble(i, core, a, ref, int(rng.random() < distractor_rate))
                out.append(Passage(text, i, key, "indirect", m))
        # general passages: the entity and some attribute nouns, no fact
        for intro in rng.sample(_KIND_INTRO[e.kind], general_per_entity):
            text, m = assemble(i, _fill(intro, e.name), None, (), 2)
            out.append(Passage(text, i, "", "general", m))
    return out


# ----------------------------------------------------------------------------- queries ----

def _select_facts(world: _World, rng: random.Random, sizes: dict[str, int],
                  has_indirect: set[tuple[int, str]], splits: tuple[str, ...]
                  ) -> dict[str, list[tuple[int, str]]]:
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


def _query_text(a: Attribute, entity: str, flavour: str, rng: random.Random) -> str:
    templates = a.query_nq if flavour == "nq" else a.query_msmarco
    return rng.choice(templates).format(e=entity.lower())


# ---------------------------------------------------------------------------- generate ----

DEFAULTS = {"n_entities": 440, "n_attributes": len(ATTRIBUTES), "facts_per_entity": 8,
            "n_train": 2000, "n_valid": 200, "n_dev": 300, "n_dl19": 43,
            "indirect_rate": 0.1, "distractor_rate": 0.4, "general_per_entity": 2}


def generate(flavour: str = "msmarco", seed: int = 0, *, n_entities: int = 440,
             n_attributes: int = len(ATTRIBUTES), facts_per_entity: int = 8,
             n_train: int = 2000, n_valid: int = 200, n_dev: int = 300, n_dl19: int = 43,
             indirect_rate: float = 0.1, distractor_rate: float = 0.4, general_per_entity: int = 2,
             with_meta: bool = False) -> dict[str, pd.DataFrame]:
    """Generate a dataset; returns ``corpus``, ``queries-{split}`` and ``qrels-{split}``.

    ``n_attributes`` keeps the first attribute types, taken in turn from each kind.
    ``n_dl19`` is ignored for the ``nq`` flavour. With ``with_meta``, also ``meta-passages``
    (doc_id, entity, kind, attribute, family, role, value, mentions) and ``meta-queries``
    (query_id, split, entity, attribute, family, value), for tests and analyses.
    """
    if flavour not in FLAVOURS:
        raise InputError(f"unknown flavour {flavour!r}; known: {sorted(FLAVOURS)}")
    if not 1 <= n_attributes <= len(ATTRIBUTES):
        raise InputError(f"n_attributes must be in 1..{len(ATTRIBUTES)} (got {n_attributes})")
    if not 1 <= general_per_entity <= len(_KIND_INTRO["person"]):
        raise InputError(f"general_per_entity must be in 1..3 (got {general_per_entity})")
    if facts_per_entity < 3:
        raise InputError(f"facts_per_entity must be at least 3 (got {facts_per_entity})")
    splits = FLAVOURS[flavour]
    sizes = {"train": n_train, "valid": n_valid, "dev": n_dev, "dl19": n_dl19}

    per_kind = [[a for a in ATTRIBUTES if a.kind == k] for k in KINDS]
    width = max(len(p) for p in per_kind)
    order = [a for row in zip(*[p + [None] * (width - len(p)) for p in per_kind]) for a in row if a]
    attributes = order[:n_attributes]

    world = _World(_rng(seed, flavour, "world"), n_entities, attributes, facts_per_entity)
    passages = _build_passages(world, _rng(seed, flavour, "passages"), attributes,
                               indirect_rate, distractor_rate, general_per_entity)
    ids = list(range(len(passages)))
    _rng(seed, flavour, "ids").shuffle(ids)
    for n, p in zip(ids, passages):
        p.doc_id = f"d{n}"
    passages.sort(key=lambda p: int(p.doc_id[1:]))

    ents = world.entities
    docs_of_fact: dict[tuple[int, str], dict[str, list[str]]] = defaultdict(
        lambda: {"fact": [], "indirect": []})
    docs_of_entity: dict[int, list[Passage]] = defaultdict(list)
    mentioned_in: dict[int, list[str]] = defaultdict(list)
    for p in passages:
        docs_of_entity[p.entity].append(p)
        if p.attribute:
            docs_of_fact[(p.entity, p.attribute)][p.role].append(p.doc_id)
        for j in p.mentions:
            mentioned_in[j].append(p.doc_id)
    has_indirect = {f for f, d in docs_of_fact.items() if d["indirect"]}

    title = flavour == "nq"
    corpus = pd.DataFrame({
        "doc_id": [p.doc_id for p in passages],
        "text": [f"{ents[p.entity].name}. {p.text}" if title else p.text for p in passages],
    })
    out: dict[str, pd.DataFrame] = {"corpus": corpus}

    qrng = _rng(seed, flavour, "queries")
    chosen = _select_facts(world, qrng, sizes, has_indirect, splits)
    meta_q = []
    next_q = 0
    for s in splits:
        q_rows, r_rows = [], []
        for i, key in chosen[s]:
            qid = f"q{next_q}"
            next_q += 1
            a = ATTRIBUTE_BY_KEY[key]
            q_rows.append((qid, _query_text(a, ents[i].name, flavour, qrng)))
            meta_q.append((qid, s, ents[i].name, key, a.family, ents[i].facts[key]))
            d = docs_of_fact[(i, key)]
            if s != "dl19":
                r_rows += [(qid, doc, 1) for doc in d["fact"] + d["indirect"]]
                continue
            judged = {doc: 3 for doc in d["fact"]} | {doc: 2 for doc in d["indirect"]}
            for p in docs_of_entity[i]:
                if p.attribute and p.attribute != key and \
                        ATTRIBUTE_BY_KEY[p.attribute].family == a.family:
                    judged[p.doc_id] = 1
            hard = [p.doc_id for p in docs_of_entity[i] if p.doc_id not in judged]
            hard += [doc for doc in mentioned_in[i] if doc not in judged]
            for part in set(ents[i].parts) - set(_SUFFIXES):  # same attribute, shared name part
                for j in world.by_part[part]:
                    if j != i and key in ents[j].facts:
                        hard += docs_of_fact[(j, key)]["fact"]
            hard = sorted(set(hard), key=lambda x: int(x[1:]))
            for doc in qrng.sample(hard, min(len(hard), 8)):
                judged[doc] = 0
            r_rows += [(qid, doc, g) for doc, g in judged.items()]
        out[f"queries-{s}"] = pd.DataFrame(q_rows, columns=["query_id", "text"])
        qrels = pd.DataFrame(r_rows, columns=["query_id", "doc_id", "relevance"])
        qrels["relevance"] = qrels["relevance"].astype("int8")
        out[f"qrels-{s}"] = qrels.sort_values(
            ["query_id", "relevance", "doc_id"], ascending=[True, False, True],
            key=lambda c: c.str[1:].astype(int) if c.name != "relevance" else c,
            ignore_index=True)

    if with_meta:
        out["meta-passages"] = pd.DataFrame({
            "doc_id": [p.doc_id for p in passages],
            "entity": [ents[p.entity].name for p in passages],
            "kind": [ents[p.entity].kind for p in passages],
            "attribute": [p.attribute for p in passages],
            "family": [ATTRIBUTE_BY_KEY[p.attribute].family if p.attribute else ""
                       for p in passages],
            "role": [p.role for p in passages],
            "value": [ents[p.entity].facts.get(p.attribute, "") for p in passages],
            "mentions": ["|".join(ents[j].name for j in p.mentions) for p in passages],
        })
        out["meta-queries"] = pd.DataFrame(
            meta_q, columns=["query_id", "split", "entity", "attribute", "family", "value"])
    return out


def statement_regex(attribute: str, entity: str) -> re.Pattern[str]:
    """A pattern that matches a sentence stating ``attribute`` of ``entity`` (any value).

    Built from the attribute's passage and indirect phrasings; ``entity`` in display form.
    An "entity AND attribute" oracle: a passage states the pair iff this pattern matches.
    """
    a = ATTRIBUTE_BY_KEY[attribute]
    v = _VALUE_REGEX[a.value]
    alternatives = []
    for t in a.passage + a.indirect:
        rx = re.escape(t)
        rx = rx.replace(re.escape("{e}"), re.escape(entity))
        rx = rx.replace(re.escape("{av}"), f"an? (?:{v})").replace(re.escape("{v}"), f"(?:{v})")
        if rx[0].isalpha():  # sentences are capitalised
            rx = f"[{rx[0].upper()}{rx[0].lower()}]{rx[1:]}"
        alternatives.append(rx)
    return re.compile("|".join(f"(?:{x})" for x in alternatives))


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write the contract tables (atomically) as ``out_dir/{name}.parquet``."""
    out_dir = Path(out_dir)
    paths = []
    for name, df in tables.items():
        kind = name.split("-")[0]
        if kind in ("corpus", "queries", "qrels"):
            paths.append(contracts.write(df, out_dir / f"{name}.parquet", kind))
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m dualrank.data.synthetic",
        description="Write a seeded synthetic IR dataset (corpus, queries, qrels) as Parquet.")
    ap.add_argument("--flavour", choices=sorted(FLAVOURS), default="msmarco")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", required=True)
    for k, v in DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
    ap.add_argument("--with-meta", action="store_true",
                    help="also write meta-passages.parquet and meta-queries.parquet (analyses)")
    args = ap.parse_args(argv)
    sizes = {k: getattr(args, k) for k in DEFAULTS}
    tables = generate(args.flavour, args.seed, with_meta=args.with_meta, **sizes)
    paths = write(tables, args.out_dir)
    if args.with_meta:
        for name in ("meta-passages", "meta-queries"):
            path, tmp = contracts.atomic_path(Path(args.out_dir) / f"{name}.parquet")
            try:
                tables[name].to_parquet(tmp, index=False)
                tmp.replace(path)
            finally:
                tmp.unlink(missing_ok=True)
            paths.append(path)
    log.info("%s seed %d: wrote %d tables to %s (%s)", args.flavour, args.seed, len(paths),
             args.out_dir, ", ".join(f"{n} {len(t)}" for n, t in tables.items()))


if __name__ == "__main__":
    entry_point(main)()
