"""Lucene BM25 through pyserini: the index and runs of the candidates stage (stage 2).

    dualrank bm25-index --corpus data/x/corpus.parquet --index DIR [--threads N]
    dualrank bm25-search --index DIR --queries Q.parquet --out RUN.parquet --k 1000 [--k1 0.9 --b 0.4]

Modules: :mod:`~dualrank.bm25.java` finds a Java >= 21 and the Anserini jar,
:mod:`~dualrank.bm25.jvm` starts the JVM and imports pyserini, :mod:`~dualrank.bm25.inputs`
checks the corpus and queries tables, :mod:`~dualrank.bm25.index` builds an index,
:mod:`~dualrank.bm25.engine` runs Anserini's ``SearchCollection``, and
:mod:`~dualrank.bm25.search` turns its hits into run tables.

What Lucene does here, so that runs are comparable with Anserini's published BM25 baselines:

* Analysis: Anserini's ``DefaultEnglishAnalyzer`` (standard tokeniser, lower case, English
  possessive removal, Lucene's 33 English stop words, Porter stemmer) for documents and
  queries alike; a query is a bag of words (repeated terms weigh more); no query syntax.
* Scoring: Lucene ``BM25Similarity(k1, b)``, ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
  ``tf part = tf / (tf + k1 (1 - b + b dl/avgdl))`` (no ``k1 + 1`` factor), where N and avgdl
  count documents with at least one indexed term and dl is stored lossily (SmallFloat).
* Scores and ties: Anserini rounds every score to 4 decimals and breaks ties by ``doc_id``
  (ascending), subtracting 1e-6 per tied document, so ``score`` is strictly decreasing within a
  query and the ranking is deterministic whatever the thread count.
* A document whose text is empty is not indexed (Anserini skips it); a query with no indexable
  term (empty, or stop words only) gets no rows in the run. Both are logged.
* Ids must not contain whitespace (they pass through TREC run files).
"""
