# Stage 7, evaluate: re-rank each evaluation's candidates (config index.chunk_size at a time) and
# retrieve (exact, streamed over the corpus in index.chunk_size passages, or from the run's
# index when index.persistent)
# with a trained run, or score the BM25 candidates themselves; MRR@10 and nDCG@10 via ir_measures.


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        f"{RESULTS}/runs/{RUN}/metrics.json",
    wildcard_constraints:
        arch="ca|de|colbert",
        seed=r"\d+",
    params:
        evals=lambda w: json.dumps(eval_specs(w, f"{RESULTS}/runs/{RUN}".format(**w))),
        index=lambda w, input: ["--index", input.index] if "index" in input.keys() else [],
        chunk=config["index"]["chunk_size"],
    threads: resources("score")["threads"]
    resources:
        gpu=resources("score")["gpu"],
        mem_mb=resources("score")["mem_mb"],
        runtime=runtime("score"),
    log:
        f"logs/evaluate/{RUN}.log",
    benchmark:
        f"benchmarks/evaluate/{RUN}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank gpu --gpus {resources.gpu:q} -- dualrank evaluate --evals {params.evals:q} --model {input.model:q} "
        "--corpus {input.corpus:q} {params.index:q} --chunk-size {params.chunk:q} --threads {threads:q} "
        "--metrics-out {output:q} 2> {log:q}"


rule evaluate_bm25:
    input:
        unpack(evaluate_inputs),
    output:
        f"{RESULTS}/runs/{{dataset}}/bm25/metrics.json",
    params:
        evals=lambda w: json.dumps(eval_specs(w, f"{RESULTS}/runs/{w.dataset}/bm25")),
    log:
        "logs/evaluate/{dataset}/bm25.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/bm25.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank evaluate --evals {params.evals:q} --metrics-out {output:q} 2> {log:q}"
