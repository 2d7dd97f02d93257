"""Readers of the upstream file formats, one module per format family.

``lines`` holds what every line-based reader shares (strict UTF-8 lines, ``path:line`` errors,
DataFrame chunks, id checks); ``msmarco`` the MS MARCO TSV files, ``trec`` TREC qrels, runs and
SGML, ``dpr`` DPR's passages, topics and biencoder JSON (streamed by ``json_stream``), ``cacm``
Anserini's HTML collection. :mod:`dualrank.data.readers` is the public front over all of them.
"""
