# dualrank: the experiment grid of Menon et al. (ICML 2022), "In defense of dual-encoders for
# neural ranking". Targets: results/table{1..12}.csv, results/figure{1..8}.png, results/all.
# See README.md.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

from dualrank.cli import configfiles

min_version("9.0")


configfile: "config.yaml"


# Which configuration is in effect, said on every run and dry run; a repeated --configfile is
# refused, since Snakemake keeps the last one's files and drops the others without a word.
if workflow.is_main_process:
    _cli = [os.path.relpath(f) for f in workflow.config_settings.configfiles]
    _dropped = configfiles.dropped_configfiles(configfiles.configfile_groups(sys.argv[1:]),
                                               [os.path.abspath(f) for f in _cli], configfiles.typed_targets(sys.argv[1:]))
    if _dropped:
        raise WorkflowError(_dropped)
    _files = [os.path.relpath(f) for f in workflow.configfiles if os.path.relpath(f) not in _cli]
    logger.info(configfiles.config_in_effect(_files + _cli, workflow.config_settings.config or {}))


validate(config, "workflow/schemas/config.schema.yaml")


# The front page of `snakemake --report`: the paper's claims as measured (results/claims-summary.csv)
# and what this configuration is (seeds, datasets, encoder sizes).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/candidates.smk"
include: "workflow/rules/teacher.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/pretrain.smk"
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
