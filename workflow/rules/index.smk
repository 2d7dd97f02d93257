# Stage 6, index: a dual-encoder's embeddings of the whole corpus in an inner-product FAISS
# index (exact unless config key `index` names another type), for Table 1's retrieval column.


rule index:
    input:
        model=f"{RESULTS}/runs/{RUN}/model",
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
    output:
        directory(f"{RESULTS}/runs/{RUN}/index"),
    wildcard_constraints:
        arch="de",
        seed=r"\d+",
    params:
        spec=json.dumps(config.get("index", {"factory": "Flat"})),
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
        "dualrank gpu --gpus {resources.gpu:q} -- dualrank index --model {input.model:q} "
        "--corpus {input.corpus:q} --out {output:q} --index-spec {params.spec:q} --threads {threads:q} 2> {log:q}"
