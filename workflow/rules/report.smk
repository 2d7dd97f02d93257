# Stage 8, report: the paper's tables from the runs' metrics, beside the published values.


rule table1:
    input:
        grid.table1_inputs(config),
        targets.per_query_inputs(config, "table1"),
    output:
        csv=report(f"{RESULTS}/table1.csv", caption="../report/table1.rst", category="Tables"),
        md=f"{RESULTS}/table1.md",
    params:
        layout=json.dumps(targets.table_layout(config, grid.table1_layout(config), "table1")),
    log:
        "logs/report/table1.log",
    benchmark:
        "benchmarks/report/table1.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank table1 --layout {params.layout:q} --csv {output.csv:q} "
        "--md {output.md:q} 2> {log:q}"


# Tables 2-12 and Figures 1-8: one job each, over the runs its config entry names (trained once
# however many results share them). The renderer kind comes from config `experiments.<name>.kind`.
rule table:
    input:
        lambda w: grid.experiment_inputs(config, w.name),
        lambda w: targets.per_query_inputs(config, w.name),
    output:
        csv=report(f"{RESULTS}/{{name}}.csv", caption="../report/result.rst", category="Tables"),
        md=f"{RESULTS}/{{name}}.md",
    wildcard_constraints:
        name=_alternatives(TABLES),
    params:
        layout=table_layout,
        caption=caption_text,
    log:
        "logs/report/{name}.log",
    benchmark:
        "benchmarks/report/{name}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank render --layout {params.layout:q} --csv {output.csv:q} "
        "--md {output.md:q} 2> {log:q}"


rule figure:
    input:
        lambda w: grid.experiment_inputs(config, w.name),
    output:
        png=report(f"{RESULTS}/{{name}}.png", caption="../report/result.rst", category="Figures"),
        pdf=f"{RESULTS}/{{name}}.pdf",
    wildcard_constraints:
        name=_alternatives(FIGURES),
    params:
        layout=experiment_layout,
        caption=caption_text,
    log:
        "logs/report/{name}.log",
    benchmark:
        "benchmarks/report/{name}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank render --layout {params.layout:q} --png {output.png:q} "
        "--pdf {output.pdf:q} 2> {log:q}"


rule results_all:
    # `snakemake results/all`: every table and figure; the file lists them.
    input:
        grid.result_files(config),
        targets.claims_files(config),
    output:
        f"{RESULTS}/all",
    log:
        "logs/report/all.log",
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "printf '%s\\n' {input:q} > {output:q} 2> {log:q}"
