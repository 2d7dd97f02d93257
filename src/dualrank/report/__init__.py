"""The paper's tables and figures from the runs' files.

table1 (Table 1, its own CLI); render (every other table and figure: ``python -m
dualrank.report.render --layout JSON ...``), dispatching on the layout's kind to tables,
examples, disagreement, figures and distributions; presets (each result's kind, params and row
names); scores (the tested computations: labels, centring, margins, densities, discrepancy,
disagreement); common (layout, run files, the paper's values, atomic writes).
"""
