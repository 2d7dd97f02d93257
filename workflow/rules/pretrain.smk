# Stage 4b, pretrain: the demo's stand-in for BERT's pre-training. One job per (dataset,
# encoder) whose config entry has a `pretrain` section (random-initialised `init` encoders
# only; config.yaml's hub checkpoints are pre-trained already): inverse-cloze pre-training on
# the dataset's corpus (dualrank.training.pretrain), whose backbone every run of that encoder
# starts from. Its params are the encoder's spec and the lengths, so a changed pretrain
# setting reruns it and the runs on it. A killed job resumes from its checkpoint
# (checkpoints/{dataset}/pretrain-{encoder}), as a train job does.


rule pretrain:
    input:
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
        tokenizer=f"{DATA}/{{dataset}}/tokenizer",
    output:
        directory(f"{DATA}/{{dataset}}/pretrained/{{encoder}}"),
    params:
        spec=pretrain_spec,
        checkpoints="checkpoints/{dataset}/pretrain-{encoder}",
    priority: grid.TRAINING
    threads: resources("cpu")["threads"]
    resources:
        mem_mb=resources("cpu")["mem_mb"],
        runtime=runtime("cpu"),
        # How the job runs, not what it computes (as the train rule's): changing it reruns nothing.
        checkpoint_every=lambda w: train_execution(w)["checkpoint_every"],
    log:
        "logs/pretrain/{dataset}/{encoder}.log",
    benchmark:
        "benchmarks/pretrain/{dataset}/{encoder}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank pretrain --spec {params.spec:q} --corpus {input.corpus:q} --tokenizer {input.tokenizer:q} "
        "--threads {threads:q} --checkpoint-dir {params.checkpoints:q} "
        "--checkpoint-every {resources.checkpoint_every:q} --out {output:q} 2> {log:q}"
