# dualrank: the experiment grid of Menon et al. (ICML 2022), "In defense of dual-encoders for
# neural ranking". Targets: results/table{1..12}.csv, results/figure{1..8}.png, results/all.
# See README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


# The HTML report's first page: the paper's claims as measured (results/claims-summary.csv).
report: "workflow/report/workflow.rst"


validate(config, "workflow/schemas/config.schema.yaml")


# The front page of `snakemake --report`: what this configuration is (seeds, datasets, encoder sizes).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/candidates.smk"
include: "workflow/rules/teacher.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/claims.smk"


rule all:
    input:
        f"{RESULTS}/table1.csv",
        f"{RESULTS}/table1.md",
    default_target: True
