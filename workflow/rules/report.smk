# Stage 8, report: the paper's tables from the runs' metrics, beside the published values.
# Each table is registered twice for `snakemake --report`: its HTML (shown inline, under
# "Tables") and its CSV (for download, under "Table data"), labelled so that the report lists
# them in the paper's order (report_labels). Every table and figure names its preset, encoder
# sizes, seeds, std and commit (the .md and .html footer, the .about.txt beside the CSV, the
# figure's own footer).


rule table1:
    input:
        grid.table1_inputs(config),
        targets.per_query_inputs(config, "table1"),
    output:
        csv=report(f"{RESULTS}/table1.csv", caption="../report/result.rst", category="Table data",
                   labels=report_labels("table1")),
        md=f"{RESULTS}/table1.md",
        html=report(f"{RESULTS}/table1.html", caption="../report/result.rst", category="Tables",
                    labels=report_labels("table1")),
        about=f"{RESULTS}/table1.about.txt",
    params:
        layout=json.dumps(targets.table_layout(config, grid.table1_layout(config, CONFIG_FILES), "table1")),
        caption=lambda w: caption_text("table1"),
    log:
        "logs/report/table1.log",
    benchmark:
        "benchmarks/report/table1.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank table1 --layout {params.layout:q} --csv {output.csv:q} "
        "--md {output.md:q} --html {output.html:q} --about {output.about:q} 2> {log:q}"


# Tables 2-12 and Figures 1-8: one job each, over the runs its config entry names (trained once
# however many results share them). The renderer kind comes from config `experiments.<name>.kind`.
rule table:
    input:
        lambda w: grid.experiment_inputs(config, w.name),
        lambda w: targets.per_query_inputs(config, w.name),
    output:
        csv=report(f"{RESULTS}/{{name}}.csv", caption="../report/result.rst", category="Table data",
                   labels=lambda w: report_labels(w.name)),
        md=f"{RESULTS}/{{name}}.md",
        html=report(f"{RESULTS}/{{name}}.html", caption="../report/result.rst", category="Tables",
                    labels=lambda w: report_labels(w.name)),
        about=f"{RESULTS}/{{name}}.about.txt",
    wildcard_constraints:
        name=_alternatives(TABLES),
    params:
        layout=table_layout,
        caption=lambda w: caption_text(w.name),
    log:
        "logs/report/{name}.log",
    benchmark:
        "benchmarks/report/{name}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank render --layout {params.layout:q} --csv {output.csv:q} "
        "--md {output.md:q} --html {output.html:q} --about {output.about:q} 2> {log:q}"


rule figure:
    input:
        lambda w: grid.experiment_inputs(config, w.name),
    output:
        png=report(f"{RESULTS}/{{name}}.png", caption="../report/result.rst", category="Figures",
                   labels=lambda w: report_labels(w.name)),
        pdf=f"{RESULTS}/{{name}}.pdf",
    wildcard_constraints:
        name=_alternatives(FIGURES),
    params:
        layout=experiment_layout,
        caption=lambda w: caption_text(w.name),
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
