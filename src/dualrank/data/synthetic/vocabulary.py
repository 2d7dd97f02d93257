"""The words and sentences of the synthetic world (``vocabulary.yaml``) as typed constants.

The table itself is data, kept in ``vocabulary.yaml`` beside this module: the attribute types
with their passage and query phrasings, the value pools, name parts, fillers and distractor
sentences. Its order matters: the generator draws from these tuples by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

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
    value: str  # value type, see VALUE_REGEX
    noun: str
    passage: tuple[str, ...]
    indirect: tuple[str, ...]
    query_msmarco: tuple[str, ...]
    query_nq: tuple[str, ...]


def _load() -> dict:
    with open(Path(__file__).with_name("vocabulary.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


_V = _load()

ATTRIBUTES: tuple[Attribute, ...] = tuple(
    Attribute(**{k: tuple(v) if isinstance(v, list) else v for k, v in a.items()})
    for a in _V["attributes"]
)
ATTRIBUTE_BY_KEY: dict[str, Attribute] = {a.key: a for a in ATTRIBUTES}

OCCUPATIONS: tuple[str, ...] = tuple(_V["occupations"])
PRODUCTS: tuple[str, ...] = tuple(_V["products"])
TOWN_SUFFIXES: tuple[str, ...] = tuple(_V["town_suffixes"])
COMPANY_SUFFIXES: tuple[str, ...] = tuple(_V["company_suffixes"])
SUFFIXES = TOWN_SUFFIXES + COMPANY_SUFFIXES
AWARD_SUFFIXES: tuple[str, ...] = tuple(_V["award_suffixes"])
ONSETS: tuple[str, ...] = tuple(_V["onsets"])
INNER: tuple[str, ...] = tuple(_V["inner"])
VOWELS: tuple[str, ...] = tuple(_V["vowels"])
CODAS: tuple[str, ...] = tuple(_V["codas"])
FINALS: tuple[str, ...] = tuple(_V["finals"])
KIND_INTRO: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _V["kind_intro"].items()}
FILLER: tuple[str, ...] = tuple(_V["filler"])
DISTRACT_ATTRIBUTE: tuple[str, ...] = tuple(_V["distract_attribute"])
DISTRACT_OTHER: tuple[str, ...] = tuple(_V["distract_other"])
DISTRACT_MENTION: tuple[str, ...] = tuple(_V["distract_mention"])

_NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)+"
#: What a value of each type looks like in a passage (for :func:`statement_regex`).
VALUE_REGEX = {
    "town": _NAME, "company": _NAME, "person": _NAME, "relative": _NAME,
    "year": r"\d{3,4}", "number": r"\d+",
    "occupation": r"[a-z]+(?: [a-z]+)?", "product": r"[a-z]+(?: [a-z]+)?",
    "award": r"[Tt]he [A-Z][a-z]+ (?:" + "|".join(AWARD_SUFFIXES) + ")",
    "country": r"[A-Z][a-z]+", "river": r"[A-Z][a-z]+", "language": r"[A-Z][a-z]+",
}


def statement_regex(attribute: str, entity: str) -> re.Pattern[str]:
    """A pattern that matches a sentence stating ``attribute`` of ``entity`` (any value).

    Built from the attribute's passage and indirect phrasings; ``entity`` in display form.
    An "entity AND attribute" oracle: a passage states the pair iff this pattern matches.
    """
    a = ATTRIBUTE_BY_KEY[attribute]
    v = VALUE_REGEX[a.value]
    alternatives = []
    for t in a.passage + a.indirect:
        rx = re.escape(t)
        rx = rx.replace(re.escape("{e}"), re.escape(entity))
        rx = rx.replace(re.escape("{av}"), f"an? (?:{v})").replace(re.escape("{v}"), f"(?:{v})")
        if rx[0].isalpha():  # sentences are capitalised
            rx = f"[{rx[0].upper()}{rx[0].lower()}]{rx[1:]}"
        alternatives.append(rx)
    return re.compile("|".join(f"(?:{x})" for x in alternatives))
