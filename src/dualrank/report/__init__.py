"""The paper's tables and figures from the runs' files.

table1 (Table 1; ``dualrank table1``); render (every other table and figure; ``dualrank
render``), dispatching on the layout's kind to tables, examples, disagreement, figures and
distributions; presets (each result's default params and row names); scores (the tested
computations: labels, centring, margins, densities, discrepancy, disagreement); common (layout,
run files, the paper's values); cost (a target's GPU-hours, disk and memory before it runs;
``dualrank plan``).
"""
