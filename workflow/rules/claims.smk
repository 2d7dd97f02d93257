# The report's statistics (issue 15): per-query scores beside every run, read from the runs the
# evaluate rules wrote (nothing is re-ranked or trained again); the paper's claims with a
# verdict each and paper versus measured per cell. The tables' paired tests (report.smk) read
# the same per-query files. Settings: config.yaml's `significance`, `claims`, `reproduction`.
from dualrank.report import targets


rule per_query:
    input:
        metrics=f"{RESULTS}/runs/{RUN}/metrics.json",
        qrels=lambda w: sorted({s["qrels"] for s in eval_specs(w, "")}),
    output:
        f"{RESULTS}/runs/{RUN}/per-query.parquet",
    wildcard_constraints:
        arch="ca|de|colbert",
        seed=r"\d+",
    params:
        evals=lambda w: json.dumps(eval_specs(w, f"{RESULTS}/runs/{RUN}".format(**w))),
    log:
        f"logs/per_query/{RUN}.log",
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank per-query --evals {params.evals:q} --out {output:q} 2> {log:q}"


rule per_query_bm25:
    input:
        metrics=f"{RESULTS}/runs/{{dataset}}/bm25/metrics.json",
        qrels=lambda w: sorted({s["qrels"] for s in eval_specs(w, "")}),
    output:
        f"{RESULTS}/runs/{{dataset}}/bm25/per-query.parquet",
    wildcard_constraints:
        dataset=_alternatives(DATASETS),
    params:
        evals=lambda w: json.dumps(eval_specs(w, f"{RESULTS}/runs/{w.dataset}/bm25")),
    log:
        "logs/per_query/{dataset}/bm25.log",
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank per-query --evals {params.evals:q} --out {output:q} 2> {log:q}"


rule claims:
    input:
        targets.claims_inputs(config),
    output:
        csv=report(f"{RESULTS}/claims.csv", caption="../report/claims.rst", category="Claims"),
        md=f"{RESULTS}/claims.md",
        summary=f"{RESULTS}/claims-summary.csv",
        paper_csv=report(f"{RESULTS}/paper-vs-measured.csv", caption="../report/paper-vs-measured.rst",
                         category="Claims"),
        paper_md=f"{RESULTS}/paper-vs-measured.md",
    params:
        spec=json.dumps(targets.claims_spec(config)),
    log:
        "logs/report/claims.log",
    benchmark:
        "benchmarks/report/claims.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank claims --spec {params.spec:q} --csv {output.csv:q} --md {output.md:q} "
        "--paper-csv {output.paper_csv:q} --paper-md {output.paper_md:q} --summary {output.summary:q} 2> {log:q}"
