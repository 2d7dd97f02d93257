# Stage 3, teacher: scores for the labelled training pairs, from the published T1 (or T2
# ensemble) cross-encoder of Hofstätter et al. (2020), or from this grid's own CA run. The
# published file's triples are also kept as they are: the triplet losses train on every one.


rule teacher_import:
    input:
        scores=lambda w: download_file("teacher", config["datasets"][w.dataset]["teacher"]["scores"]),
        # Every id of the published file is checked against the dataset's tables.
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
        queries=f"{DATA}/{{dataset}}/queries-train.parquet",
    output:
        pairs=f"{DATA}/{{dataset}}/teacher-pairs.parquet",
        triples=f"{DATA}/{{dataset}}/teacher-triples.parquet",
    wildcard_constraints:
        dataset=_alternatives([d for d in DATASETS if config["datasets"][d]["teacher"]["source"] == "published"]),
    priority: grid.GATE
    resources:
        mem_mb=resources("cpu")["mem_mb"],
    log:
        "logs/teacher/{dataset}.log",
    benchmark:
        "benchmarks/teacher/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank teacher-import --scores {input.scores:q} --corpus {input.corpus:q} "
        "--queries {input.queries:q} --out {output.pairs:q} --triples-out {output.triples:q} 2> {log:q}"


rule teacher_score:
    input:
        model=teacher_model,
        pairs=f"{DATA}/{{dataset}}/train-pairs.parquet",
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
        queries=f"{DATA}/{{dataset}}/queries-train.parquet",
    output:
        f"{DATA}/{{dataset}}/teacher-pairs.parquet",
    wildcard_constraints:
        dataset=_alternatives([d for d in DATASETS if config["datasets"][d]["teacher"]["source"] == "ca"]),
    priority: grid.GATE
    threads: resources("score")["threads"]
    resources:
        gpu=resources("score")["gpu"],
        mem_mb=resources("score")["mem_mb"],
        runtime=runtime("score"),
    log:
        "logs/teacher/{dataset}.log",
    benchmark:
        "benchmarks/teacher/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank gpu --gpus {resources.gpu:q} -- dualrank teacher-score --model {input.model:q} --pairs {input.pairs:q} "
        "--corpus {input.corpus:q} --queries {input.queries:q} --out {output:q} --threads {threads:q} 2> {log:q}"
