# Stage 5, train: one job per (dataset, arch, encoder, loss variant, seed). Its params are
# the full training spec of that run (a dualrank.spec.TrainSpec, built by
# dualrank.grid.train_spec), so editing one loss's hyper-parameters reruns only the runs of
# that loss, and whether a learning curve reads its train MRR@10 at every evaluation. Checkpoints live under checkpoints/, outside the outputs, so that a killed or
# preempted job resumes instead of starting over. training.processes (data-parallel ranks, one
# GPU each, via torchrun) and training.checkpoint_every are resources, not params: they do not
# change the result, so changing them reruns nothing; threads and GPUs scale with the processes.


rule train:
    input:
        unpack(train_inputs),
    output:
        model=directory(f"{RESULTS}/runs/{RUN}/model"),
        curve=f"{RESULTS}/runs/{RUN}/curve.parquet",
        summary=f"{RESULTS}/runs/{RUN}/train.json",
        snapshots=f"{RESULTS}/runs/{RUN}/snapshots.parquet",
        train_scores=f"{RESULTS}/runs/{RUN}/train-scores.parquet",
    wildcard_constraints:
        arch="ca|de|colbert",
        seed=r"\d+",
    params:
        spec=train_spec,
        # The encoder's own files: the trained vocabulary of an `init` encoder, and the backbone
        # `dualrank pretrain` wrote if it has a pretrain section. One param under its old name, so
        # that runs without pre-training keep the params and command recorded for them (no rerun).
        tokenizer=lambda w, input: [flag for key in ("tokenizer", "pretrained") if key in input.keys()
                                    for flag in (f"--{key}", input[key])],
        checkpoints=f"checkpoints/{RUN}",
        # Train MRR@10 at every evaluation only where a learning curve is drawn (grid.curve_runs).
        train_mrr_once=lambda w: [] if run_of(w) in CURVE_RUNS else ["--train-mrr-once"],
    priority: lambda w: grid.train_priority(config, run_of(w))
    threads: lambda w: resources("train")["threads"] * train_execution(w)["processes"]
    resources:
        gpu=lambda w: resources("train")["gpu"] * train_execution(w)["processes"],
        processes=lambda w: train_execution(w)["processes"],
        checkpoint_every=lambda w: train_execution(w)["checkpoint_every"],
        mem_mb=lambda w: resources("train")["mem_mb"] * train_execution(w)["processes"],
        runtime=runtime("train"),
    log:
        f"logs/train/{RUN}.log",
    benchmark:
        f"benchmarks/train/{RUN}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank gpu --gpus {resources.gpu:q} -- dualrank train --spec {params.spec:q} --groups {input.groups:q} "
        "--corpus {input.corpus:q} --queries {input.queries:q} "
        "--valid-candidates {input.valid_candidates:q} --valid-queries {input.valid_queries:q} "
        "--valid-qrels {input.valid_qrels:q} --train-eval-candidates {input.train_eval_candidates:q} "
        "--train-eval-queries {input.train_eval_queries:q} --train-eval-qrels {input.train_eval_qrels:q} "
        "{params.tokenizer:q} {params.train_mrr_once:q} --threads {threads:q} "
        "--processes {resources.processes:q} --checkpoint-every {resources.checkpoint_every:q} "
        "--checkpoint-dir {params.checkpoints:q} --model-out {output.model:q} "
        "--curve-out {output.curve:q} --summary-out {output.summary:q} "
        "--snapshots-out {output.snapshots:q} --train-scores-out {output.train_scores:q} 2> {log:q}"
