# Stage 8, report: the paper's tables from the runs' metrics, beside the published values.


rule table1:
    input:
        table_metrics("table1"),
    output:
        csv=report(f"{RESULTS}/table1.csv", caption="../report/table1.rst", category="Tables"),
        md=f"{RESULTS}/table1.md",
    params:
        layout=lambda w: json.dumps({**config["table1"], "seeds": config["seeds"],
                                     "results": RESULTS, "compare_to_paper": config["report"]["compare_to_paper"]}),
    log:
        "logs/report/table1.log",
    benchmark:
        "benchmarks/report/table1.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "python -m dualrank.report.table1 --layout {params.layout:q} --csv {output.csv:q} "
        "--md {output.md:q} 2> {log:q}"
