# Stage 1, data: every dataset ends up as the same Parquet contract under data/{dataset}/
# (corpus, queries-{split}, qrels-{split}), from real downloads or the demo's generator.


rule download:
    output:
        f"{DATA}/downloads/{{group}}/{{file}}",
    wildcard_constraints:
        file=r"[^/]+\.(tar\.gz|tgz|gz|tsv|txt|json)",
    params:
        url=lambda w: url_of(w)["url"],
        md5=lambda w: url_of(w).get("md5") or "",
    log:
        "logs/download/{group}/{file}.log",
    benchmark:
        "benchmarks/download/{group}/{file}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    # A checksum mismatch is final: the retry refuses at once (dualrank.data.download).
    retries: 2
    shell:
        # The log also goes to the console: a long download's retries must be seen.
        "dualrank download --url {params.url:q} --md5 {params.md5:q} --out {output:q} 2>&1 | tee {log:q} >&2"


rule extract:
    input:
        archive_of,
    output:
        f"{DATA}/downloads/{{group}}/{{key}}",
    wildcard_constraints:
        key=r"[A-Za-z0-9_]+",
    params:
        member=lambda w: config["downloads"][w.group][w.key].get("member") or "",
    log:
        "logs/extract/{group}/{key}.log",
    benchmark:
        "benchmarks/extract/{group}/{key}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank extract --archive {input:q} --member {params.member:q} --out {output:q} 2> {log:q}"


# One data rule per dataset, by its source. Each is named (synthetic_DS, prepare_DS) but made in
# this loop rather than as one wildcard rule per source: a rule's output list is fixed, and a
# synthetic dataset's tables depend on its splits (and rule-making functions here would mix
# functions with rules, which `snakemake --lint` flags).
for ds in DATASETS:
    spec = config["datasets"][ds]

    if spec["source"] == "synthetic":
        syn = spec["synthetic"]

        rule:
            name:
                f"synthetic_{ds}"
            output:
                contract_files(ds, syn["splits"]),
            params:
                flavour=syn["flavour"],
                seed=syn["seed"],
                sizes=[x for k, v in syn["sizes"].items() for x in (f"--{k.replace('_', '-')}", v)],
                out_dir=out_dir,
            log:
                f"logs/data/{ds}.log",
            benchmark:
                f"benchmarks/data/{ds}.tsv"
            conda:
                "../../envs/dualrank.yaml"
            shell:
                "dualrank synthetic --flavour {params.flavour:q} --seed {params.seed:q} "
                "{params.sizes:q} --out-dir {params.out_dir:q} 2> {log:q}"

    elif spec["source"] == "msmarco":

        rule:
            name:
                f"prepare_{ds}"
            input:
                collection=download_file("msmarco", "collection"),
                queries_train=download_file("msmarco", "queries_train"),
                queries_dev=download_file("msmarco", "queries_dev"),
                qrels_dev=download_file("msmarco", "qrels_dev"),
                top1000_dev=download_file("msmarco", "top1000_dev"),
                queries_dl19=download_file("msmarco", "queries_dl19"),
                qrels_dl19=download_file("msmarco", "qrels_dl19"),
                top1000_dl19=download_file("msmarco", "top1000_dl19"),
                queries_dev_all=download_file("msmarco", "queries_dev_all"),
                qrels_dev_all=download_file("msmarco", "qrels_dev_all"),
                qrels_train=download_file("msmarco", "qrels_train"),
            output:
                contract_files(ds, ["dev", "dl19", "valid"], ["queries-train.parquet", "qrels-train.parquet",
                                                         "official-dev.parquet", "official-dl19.parquet"]),
            params:
                out_dir=out_dir,
                valid=spec["prepare"]["valid"],
            log:
                f"logs/data/{ds}.log",
            benchmark:
                f"benchmarks/data/{ds}.tsv"
            resources:
                mem_mb=spec["prepare"]["mem_mb"],
            conda:
                "../../envs/dualrank.yaml"
            shell:
                "dualrank prepare msmarco --collection {input.collection:q} "
                "--queries-train {input.queries_train:q} --queries-dev {input.queries_dev:q} "
                "--qrels-dev {input.qrels_dev:q} --top1000-dev {input.top1000_dev:q} "
                "--queries-dl19 {input.queries_dl19:q} --qrels-dl19 {input.qrels_dl19:q} "
                "--top1000-dl19 {input.top1000_dl19:q} --queries-dev-all {input.queries_dev_all:q} "
                "--qrels-dev-all {input.qrels_dev_all:q} --qrels-train {input.qrels_train:q} "
                "--valid-queries {params.valid[queries]:q} --valid-seed {params.valid[seed]:q} "
                "--out-dir {params.out_dir:q} 2> {log:q}"

    elif spec["source"] == "nq":

        rule:
            name:
                f"prepare_{ds}"
            input:
                passages=download_file("nq", "passages"),
                train=download_file("nq", "train"),
                dev=download_file("nq", "dev"),
            output:
                contract_files(ds, ["dev", "valid"], ["queries-train.parquet", "qrels-train.parquet",
                                                 "train-pairs.parquet", "official-dev.parquet"]),
            params:
                out_dir=out_dir,
                hard_negatives=spec["prepare"]["hard_negatives"],
                valid=spec["prepare"]["valid"],
            log:
                f"logs/data/{ds}.log",
            benchmark:
                f"benchmarks/data/{ds}.tsv"
            resources:
                mem_mb=spec["prepare"]["mem_mb"],
            conda:
                "../../envs/dualrank.yaml"
            shell:
                "dualrank prepare nq --passages {input.passages:q} "
                "--train {input.train:q} --dev {input.dev:q} --hard-negatives {params.hard_negatives:q} "
                "--valid-queries {params.valid[queries]:q} --valid-seed {params.valid[seed]:q} "
                "--out-dir {params.out_dir:q} 2> {log:q}"


# The train-eval split of every dataset (config `train_eval`): the training queries that every
# model's train MRR@10 is measured on, with their training labels; BM25's candidates for it come
# from rule bm25_run like any split's.
rule train_eval_split:
    input:
        queries=f"{DATA}/{{dataset}}/queries-train.parquet",
        qrels=f"{DATA}/{{dataset}}/qrels-train.parquet",
    output:
        queries=f"{DATA}/{{dataset}}/queries-train-eval.parquet",
        qrels=f"{DATA}/{{dataset}}/qrels-train-eval.parquet",
    wildcard_constraints:
        dataset=_alternatives(DATASETS),
    params:
        n=config["train_eval"]["queries"],
        seed=config["train_eval"]["seed"],
    priority: grid.TRAINING
    log:
        "logs/train_eval_split/{dataset}.log",
    benchmark:
        "benchmarks/train_eval_split/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank sample-queries --queries {input.queries:q} --qrels {input.qrels:q} --n {params.n:q} "
        "--seed {params.seed:q} --queries-out {output.queries:q} --qrels-out {output.qrels:q} 2> {log:q}"


rule tokenizer:
    input:
        corpus=f"{DATA}/{{dataset}}/corpus.parquet",
        queries=f"{DATA}/{{dataset}}/queries-train.parquet",
    output:
        directory(f"{DATA}/{{dataset}}/tokenizer"),
    params:
        vocab_size=config["tokenizer"]["vocab_size"],
    priority: grid.TRAINING
    log:
        "logs/tokenizer/{dataset}.log",
    benchmark:
        "benchmarks/tokenizer/{dataset}.tsv"
    conda:
        "../../envs/dualrank.yaml"
    shell:
        "dualrank tokenizer --corpus {input.corpus:q} --queries {input.queries:q} "
        "--vocab-size {params.vocab_size:q} --out {output:q} 2> {log:q}"
