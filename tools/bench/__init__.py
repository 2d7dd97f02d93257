"""Benchmarks (``python -m tools.bench [NAME] [ARGS]``).

``speed`` (the default): training, encoding, CA scoring, FAISS search, ``snakemake -n`` and
MFU, dualrank against sentence-transformers (:mod:`.speed`).
``aggregate``: a synthetic 40M-triple teacher file in the published format, imported and
aggregated to top-20 groups; wall time and peak RSS of each step, against plain pandas.
"""
