# Stage 4, aggregate: group pairs by query into training groups of K passages — top-K by
# teacher score for distillation (§5), positives plus the first negatives for one-hot.


rule groups:
    input:
        lambda w: label_pairs(w) if w.kind == "labels" else f"{DATA}/{w.dataset}/teacher-pairs.parquet",
    output:
        f"{DATA}/{{dataset}}/groups/{{kind}}-k{{k}}.parquet",
    wildcard_constraints:
        kind="labels|teacher",
        k=r"\d+",
    params:
        labels_only=lambda w: "--labels-only" if w.kind == "labels" else "",
    resources:
        mem_mb=resources("cpu")["mem_mb"],
    log:
        "logs/groups/{dataset}/{kind}-k{k}.log",
    benchmark:
        "benchmarks/groups/{dataset}/{kind}-k{k}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank aggregate --pairs {input:q} --k {wildcards.k} {params.labels_only} "
        "--out {output:q} 2> {log:q}"
