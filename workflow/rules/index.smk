# Stage 6, index: a dual-encoder's embeddings of the whole corpus in an exact inner-product
# FAISS index, for the retrieval column of Table 1.


rule index:
    input:
        model=f"{RESULTS}/runs/{RUN}/model",
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
    output:
        directory(f"{RESULTS}/runs/{RUN}/index"),
    wildcard_constraints:
        arch="de",
        seed=r"\d+",
    threads: resources("index")["threads"]
    resources:
        gpu=resources("index")["gpu"],
        mem_mb=resources("index")["mem_mb"],
        runtime=runtime("index"),
    log:
        f"logs/index/{RUN}.log",
    benchmark:
        f"benchmarks/index/{RUN}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "python -m dualrank.gpu --gpus {resources.gpu} -- python -m dualrank.index --model {input.model:q} --corpus {input.corpus:q} "
        "--out {output:q} --threads {threads} 2> {log:q}"
