"""Generation of a whole dataset from a seed, and its contract tables on disk.

The same seed gives the same tables, byte for byte: each part draws from its own random stream
(world, passages, ids, queries; :func:`~dualrank.data.synthetic.world.rng_for`), so the
corpus does not depend on the number of queries requested.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dualrank.data import contracts
from dualrank.data.io import InputError, atomic_output
from dualrank.data.synthetic.passages import Passage, PassageIndex, build_passages
from dualrank.data.synthetic.queries import query_tables, select_facts
from dualrank.data.synthetic.vocabulary import ATTRIBUTE_BY_KEY, ATTRIBUTES, KIND_INTRO, KINDS, Attribute
from dualrank.data.synthetic.world import World, rng_for

FLAVOURS: dict[str, tuple[str, ...]] = {
    "msmarco": ("train", "valid", "dev", "dl19"),
    "nq": ("train", "valid", "dev"),
}

#: The size parameters of :func:`generate` (and flags of ``dualrank synthetic``): default, meaning.
SIZES: dict[str, tuple[int | float, str]] = {
    "n_entities": (440, "entities: people, towns and companies in a 4:3:3 ratio"),
    "n_attributes": (len(ATTRIBUTES), "attribute types kept (the first ones, taken in turn from each kind)"),
    "facts_per_entity": (8, "facts per entity (at most its kind's attribute types)"),
    "n_train": (2000, "training queries"),
    "n_valid": (200, "valid queries"),
    "n_dev": (300, "dev queries"),
    "n_dl19": (43, "dl19 queries (msmarco only)"),
    "indirect_rate": (0.1, "fraction of facts with a second, indirect passage"),
    "distractor_rate": (0.4, "rate of distractor sentences in a passage"),
    "general_per_entity": (2, "general passages per entity, stating no fact (1-3)"),
    "distinct_names": (0, "1: each entity's first name part is a word no other entity has "
                          "(one whole word finds it); 0: name parts shared across entities"),
    "sparse_labels": (0, "1: binary qrels (train, valid, dev) label one answering passage drawn "
                         "at random, the other an unlabelled answer; 0: both labelled"),
}
DEFAULTS = {name: default for name, (default, _) in SIZES.items()}


def _check(flavour: str, n_attributes: int, general_per_entity: int, facts_per_entity: int) -> None:
    if flavour not in FLAVOURS:
        raise InputError(f"unknown flavour {flavour!r}; known: {sorted(FLAVOURS)}")
    if not 1 <= n_attributes <= len(ATTRIBUTES):
        raise InputError(f"n_attributes must be in 1..{len(ATTRIBUTES)} (got {n_attributes})")
    if not 1 <= general_per_entity <= len(KIND_INTRO["person"]):
        raise InputError(f"general_per_entity must be in 1..3 (got {general_per_entity})")
    if facts_per_entity < 3:
        raise InputError(f"facts_per_entity must be at least 3 (got {facts_per_entity})")


def _attributes(n_attributes: int) -> list[Attribute]:
    """The first ``n_attributes`` attribute types, taken in turn from each kind."""
    per_kind = [[a for a in ATTRIBUTES if a.kind == k] for k in KINDS]
    width = max(len(p) for p in per_kind)
    order = [a for row in zip(*[p + [None] * (width - len(p)) for p in per_kind]) for a in row if a]
    return order[:n_attributes]


def _meta_passages(passages: list[Passage], world: World) -> pd.DataFrame:
    ents = world.entities
    return pd.DataFrame({
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


def generate(flavour: str = "msmarco", seed: int = 0, *, n_entities: int = 440,
             n_attributes: int = len(ATTRIBUTES), facts_per_entity: int = 8,
             n_train: int = 2000, n_valid: int = 200, n_dev: int = 300, n_dl19: int = 43,
             indirect_rate: float = 0.1, distractor_rate: float = 0.4, general_per_entity: int = 2,
             distinct_names: int = 0, sparse_labels: int = 0, with_meta: bool = False) -> dict[str, pd.DataFrame]:
    """Generate a dataset; returns ``corpus``, ``queries-{split}`` and ``qrels-{split}``.

    ``n_attributes`` keeps the first attribute types, taken in turn from each kind.
    ``n_dl19`` is ignored for the ``nq`` flavour. ``distinct_names`` (0 or 1) gives each entity
    a first name part of its own (:class:`~dualrank.data.synthetic.world.World`);
    ``sparse_labels`` (0 or 1) labels one answering passage of a fact in the binary qrels
    (:mod:`~dualrank.data.synthetic.queries`). With ``with_meta``, also ``meta-passages``
    (doc_id, entity, kind, attribute, family, role, value, mentions) and ``meta-queries``
    (query_id, split, entity, attribute, family, value), for tests and analyses.
    """
    _check(flavour, n_attributes, general_per_entity, facts_per_entity)
    splits = FLAVOURS[flavour]
    sizes = {"train": n_train, "valid": n_valid, "dev": n_dev, "dl19": n_dl19}
    attributes = _attributes(n_attributes)

    for name, flag in (("distinct_names", distinct_names), ("sparse_labels", sparse_labels)):
        if flag not in (0, 1):
            raise InputError(f"{name} must be 0 or 1 (got {flag})")
    world = World(rng_for(seed, flavour, "world"), n_entities, attributes, facts_per_entity,
                  distinct_names=bool(distinct_names))
    passages = build_passages(world, rng_for(seed, flavour, "passages"), attributes,
                              indirect_rate, distractor_rate, general_per_entity)
    ids = list(range(len(passages)))  # doc ids "d0", "d1", ... in a shuffled order
    rng_for(seed, flavour, "ids").shuffle(ids)
    for n, p in zip(ids, passages):
        p.doc_id = f"d{n}"
    passages.sort(key=lambda p: int(p.doc_id[1:]))
    index = PassageIndex(passages)

    title = flavour == "nq"  # NQ passages carry their entity as title: "Title. text"
    ents = world.entities
    out: dict[str, pd.DataFrame] = {"corpus": pd.DataFrame({
        "doc_id": [p.doc_id for p in passages],
        "text": [f"{ents[p.entity].name}. {p.text}" if title else p.text for p in passages],
    })}
    qrng = rng_for(seed, flavour, "queries")
    chosen = select_facts(world, qrng, sizes, index.has_indirect, splits)
    label_rng = rng_for(seed, flavour, "labels") if sparse_labels else None
    tables, meta_q = query_tables(world, index, chosen, flavour, qrng, label_rng)
    out |= tables
    if with_meta:
        out["meta-passages"] = _meta_passages(passages, world)
        out["meta-queries"] = pd.DataFrame(
            meta_q, columns=["query_id", "split", "entity", "attribute", "family", "value"])
    return out


def write(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write the contract tables (atomically) as ``out_dir/{name}.parquet``."""
    out_dir = Path(out_dir)
    paths = []
    for name, df in tables.items():
        kind = name.split("-")[0]
        if kind in ("corpus", "queries", "qrels"):
            paths.append(contracts.write(df, out_dir / f"{name}.parquet", kind))
    return paths


def write_meta(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write ``meta-passages`` and ``meta-queries`` (not contracts) as ``out_dir/{name}.parquet``."""
    paths = []
    for name in ("meta-passages", "meta-queries"):
        path = Path(out_dir) / f"{name}.parquet"
        with atomic_output(path) as tmp:
            tables[name].to_parquet(tmp, index=False)
        paths.append(path)
    return paths
