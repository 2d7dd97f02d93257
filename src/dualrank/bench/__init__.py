"""Benchmarks of the pipeline's data stages at paper scale (``python -m dualrank.bench.<name>``).

``aggregate``: a synthetic 40M-triple teacher file in the published format, imported and
aggregated to top-20 groups; wall time and peak RSS of each step, against plain pandas.
"""
