# Stage 5, train: one job per (dataset, arch, encoder, loss variant, seed). Its params are
# the full training spec of that run, so editing one loss's hyper-parameters reruns only the
# runs of that loss. Checkpoints live under checkpoints/, outside the outputs, so that a
# killed or preempted job resumes instead of starting over.


rule train:
    input:
        unpack(train_inputs),
    output:
        model=directory(f"{RESULTS}/runs/{RUN}/model"),
        curve=f"{RESULTS}/runs/{RUN}/curve.parquet",
        summary=f"{RESULTS}/runs/{RUN}/train.json",
    wildcard_constraints:
        arch="ca|de|colbert",
        seed=r"\d+",
    params:
        spec=train_spec,
        tokenizer=lambda w, input: f"--tokenizer {input.tokenizer}" if "tokenizer" in input.keys() else "",
        checkpoints=f"checkpoints/{RUN}",
    threads: resources("train")["threads"]
    resources:
        gpu=resources("train")["gpu"],
        mem_mb=resources("train")["mem_mb"],
        runtime=runtime("train"),
    log:
        f"logs/train/{RUN}.log",
    benchmark:
        f"benchmarks/train/{RUN}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "python -m dualrank.gpu --gpus {resources.gpu} -- python -m dualrank.train --spec {params.spec:q} --groups {input.groups:q} "
        "--corpus {input.corpus:q} --queries {input.queries:q} "
        "--valid-candidates {input.valid_candidates:q} --valid-queries {input.valid_queries:q} "
        "--valid-qrels {input.valid_qrels:q} {params.tokenizer} --threads {threads} "
        "--checkpoint-dir {params.checkpoints:q} --model-out {output.model:q} "
        "--curve-out {output.curve:q} --summary-out {output.summary:q} 2> {log:q}"
