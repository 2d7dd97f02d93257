"""A seeded synthetic IR dataset in which the paper's CA/DE phenomenon exists (the demo preset).

DESIGN.md, "The demo preset": queries ask for an (entity, attribute) pair; the relevant
passage states that pair; hard negatives share the entity or the attribute words but not the
pair — the superficial overlap of the paper's Table 3.

The world (:mod:`.world`)
    Made-up but pronounceable entities of three kinds (people, towns, companies), e.g.
    "Varnok Tessel", "Tessel Vale", "Tessel Mills". Name parts are deliberately shared across
    entities and kinds, so lexical entity overlap is common and only partial; with
    ``distinct_names`` each entity also has a name word of its own ("Varnok" in "Varnok Tessel").
    Each kind has 7-9 attribute types (23 in all: birthplace, year of death, mayor,
    population, founder, headquarters, ...; :mod:`.vocabulary`), grouped into families of
    related attributes (birthplace and birth year are both "birth"). Each entity has
    ``facts_per_entity`` facts (entity, attribute, value); values are other entities (a
    birthplace is a town of the corpus, an employer a company), numbers, years, or words from
    small pools.

Passages (:mod:`.passages`)
    One passage per fact, stating it with one of the attribute's *passage* phrasings
    ("Varnok Tessel was born in Zell Vale.") plus neutral filler and, in some passages,
    distractor sentences that mention a second entity or a second attribute without stating
    it ("The birthplace of Orrin Tessel, by contrast, is still disputed."). A fraction of
    facts gets a second, indirect passage ("Parish records from Zell Vale list Varnok Tessel
    among the children baptised there."). Every entity also has ``general_per_entity``
    general passages that state none of its facts (like the other chunks of an entity's
    article). Passages have 20-60 words; doc ids are "d0", "d1", ... in a shuffled order
    (ids carry no information). Defaults: 440 entities, about 4,500 passages.

Queries (:mod:`.queries`)
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
one) relevant, so every query has one or two relevant passages; with ``sparse_labels`` one of
the two drawn at random, so the other is an unlabelled answer (MS MARCO's sparse labels).
The same seed gives the same tables, byte for byte; the corpus does not depend on the number
of queries requested (:mod:`.generate`).

Command line::

    dualrank synthetic --flavour msmarco --seed 0 --out-dir data/demo/msmarco

writes ``corpus.parquet``, ``queries-{split}.parquet`` and ``qrels-{split}.parquet`` through
:func:`dualrank.data.contracts.write`; ``--with-meta`` adds the structured truth behind each passage
and query (``meta-*.parquet``, not a contract) for analyses such as the Table 3 analogue.
"""

from dualrank.data.synthetic.generate import DEFAULTS, FLAVOURS, SIZES, generate, write, write_meta
from dualrank.data.synthetic.passages import Passage
from dualrank.data.synthetic.vocabulary import (
    ATTRIBUTE_BY_KEY,
    ATTRIBUTES,
    KINDS,
    Attribute,
    statement_regex,
)
from dualrank.data.synthetic.world import Entity

__all__ = [
    "ATTRIBUTES", "ATTRIBUTE_BY_KEY", "Attribute", "DEFAULTS", "Entity", "FLAVOURS", "KINDS",
    "Passage", "SIZES", "generate", "statement_regex", "write", "write_meta",
]
