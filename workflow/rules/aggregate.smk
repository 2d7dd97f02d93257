# Stage 4, aggregate: group pairs by query into training groups of K passages — top-K by
# teacher score for distillation (§5), positives plus the first negatives for one-hot — or,
# for the triplet losses (K = 2), one group per training triple.


rule groups:
    input:
        lambda w: label_pairs(w) if w.kind == "labels" else f"{DATA}/{w.dataset}/teacher-pairs.parquet",
    output:
        f"{DATA}/{{dataset}}/groups/{{kind}}-k{{k}}.parquet",
    wildcard_constraints:
        kind="labels|teacher",
        k=r"\d+",
    params:
        labels_only=lambda w: ["--labels-only"] if w.kind == "labels" else [],
    priority: grid.TRAINING
    resources:
        mem_mb=resources("cpu")["mem_mb"],
    log:
        "logs/groups/{dataset}/{kind}-k{k}.log",
    benchmark:
        "benchmarks/groups/{dataset}/{kind}-k{k}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank aggregate --pairs {input:q} --k {wildcards.k:q} {params.labels_only:q} "
        "--out {output:q} 2> {log:q}"


# Every triple of the published teacher file (MS MARCO), or triples built from the pairs
# (datasets whose teacher is our CA: each negative with one of the query's positives in turn).
rule groups_triples:
    input:
        triple_source,
    output:
        f"{DATA}/{{dataset}}/groups/{{kind}}-triples.parquet",
    wildcard_constraints:
        kind="labels|teacher",
    params:
        labels_only=lambda w: ["--labels-only"] if w.kind == "labels" else [],
        negatives=lambda w: (["--negatives-per-query", grid.triplet_negatives(config, w.dataset)]
                             if grid.triplet_negatives(config, w.dataset) else []),
    priority: grid.TRAINING
    resources:
        mem_mb=resources("cpu")["mem_mb"],
    log:
        "logs/groups/{dataset}/{kind}-triples.log",
    benchmark:
        "benchmarks/groups/{dataset}/{kind}-triples.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank aggregate --pairs {input:q} --triples {params.labels_only:q} {params.negatives:q} "
        "--out {output:q} 2> {log:q}"
