"""Using a trained ranker: re-ranking candidates, FAISS retrieval, and their evaluation.

rerank (scores candidates in length-sorted batches; loads a model on its device), stream
(exact retrieval streamed over the corpus in chunks, the default for the retrieval column), index
(encodes a corpus with a DE into a FAISS index; ``dualrank index``), ann (the FAISS index types
the ``index`` config key offers), evaluate (re-rank and retrieval evaluations of one run;
``dualrank evaluate``) and metrics (MRR@10 and nDCG@10 with ir_measures/trec_eval;
``dualrank metrics``).
"""
