# Stage 2, candidates: Lucene BM25 (pyserini) for the splits without official candidates, the
# NQ-style mixed dev sets, and (for datasets without triples) labelled training pairs.


rule bm25_index:
    input:
        f"{DATA}/{{dataset}}/corpus.parquet",
    output:
        directory(f"{DATA}/{{dataset}}/bm25-index"),
    priority: grid.GATE
    threads: resources("cpu")["threads"]
    resources:
        mem_mb=resources("cpu")["mem_mb"],
        runtime=runtime("cpu"),
    log:
        "logs/bm25_index/{dataset}.log",
    benchmark:
        "benchmarks/bm25_index/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank bm25-index --corpus {input:q} --index {output:q} --threads {threads:q} > {log:q} 2>&1"


rule bm25_run:
    input:
        index=f"{DATA}/{{dataset}}/bm25-index",
        queries=f"{DATA}/{{dataset}}/queries-{{split}}.parquet",
    output:
        f"{DATA}/{{dataset}}/bm25-{{split}}.parquet",
    params:
        k1=config["bm25"]["k1"],
        b=config["bm25"]["b"],
        depth=config["bm25"]["depth"],
    priority: lambda w: grid.bm25_priority(config, w.dataset, w.split)
    threads: resources("cpu")["threads"]
    resources:
        mem_mb=resources("cpu")["mem_mb"],
        runtime=runtime("cpu"),
    log:
        "logs/bm25_run/{dataset}/{split}.log",
    benchmark:
        "benchmarks/bm25_run/{dataset}/{split}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank bm25-search --index {input.index:q} --queries {input.queries:q} "
        "--out {output:q} --k {params.depth:q} --k1 {params.k1:q} --b {params.b:q} --threads {threads:q} > {log:q} 2>&1"


rule mixed_candidates:
    input:
        run=f"{DATA}/{{dataset}}/bm25-{{split}}.parquet",
        qrels=f"{DATA}/{{dataset}}/qrels-{{split}}.parquet",
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
    output:
        f"{DATA}/{{dataset}}/mixed-{{split}}.parquet",
    params:
        bm25=config["mixed_candidates"]["bm25"],
        random=config["mixed_candidates"]["random"],
        seed=config["mixed_candidates"]["seed"],
    log:
        "logs/mixed_candidates/{dataset}/{split}.log",
    benchmark:
        "benchmarks/mixed_candidates/{dataset}/{split}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank candidates mix --run {input.run:q} --qrels {input.qrels:q} "
        "--corpus {input.corpus:q} --bm25 {params.bm25:q} --random {params.random:q} "
        "--seed {params.seed:q} --out {output:q} > {log:q} 2>&1"


rule train_pairs:
    input:
        run=f"{DATA}/{{dataset}}/bm25-train.parquet",
        qrels=f"{DATA}/{{dataset}}/qrels-train.parquet",
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
    output:
        f"{DATA}/{{dataset}}/train-pairs.parquet",
    wildcard_constraints:
        dataset=datasets_with("source", "synthetic"),
    params:
        negatives=lambda w: config["datasets"][w.dataset]["synthetic"]["train_negatives"],
        sample_depth=lambda w: config["datasets"][w.dataset]["synthetic"]["train_sample_depth"],
        random=lambda w: config["datasets"][w.dataset]["synthetic"]["train_random_negatives"],
    priority: grid.TRAINING
    log:
        "logs/train_pairs/{dataset}.log",
    benchmark:
        "benchmarks/train_pairs/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank candidates pairs --run {input.run:q} --qrels {input.qrels:q} "
        "--negatives {params.negatives:q} --sample-depth {params.sample_depth:q} "
        "--random {params.random:q} --corpus {input.corpus:q} --out {output:q} > {log:q} 2>&1"
