"""Every run and dry run says which config files it merged and the preset it recognised; a
--configfile form that Snakemake would read as less than typed is refused (real `snakemake -n`)."""

import os
import subprocess
import sys

import pytest

from dualrank.cli.configfiles import config_in_effect, configfile_groups, dropped_configfiles, typed_targets

DEMO = "workflow/presets/demo.yaml"
CHEAP = "data/msmarco/tokenizer"  # a target whose DAG is small: the line comes from parsing alone


def snakemake(cwd, *args):
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=cwd, capture_output=True, text=True)


def effect_lines(proc) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("dualrank: config in effect")]


@pytest.fixture
def overlay(workdir):
    (workdir / "my.yaml").write_text("seeds: [0]\n")
    return workdir


def test_a_dry_run_names_the_files_merged_in_order_and_the_preset(overlay):
    proc = snakemake(overlay, "--configfile", DEMO, "my.yaml", "--", CHEAP)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert effect_lines(proc) == [f"dualrank: config in effect: config.yaml + {DEMO} + my.yaml "
                                  "(each overriding the ones before); preset: demo"]
    paper = snakemake(overlay, "--", "data/msmarco/corpus.parquet")
    assert paper.returncode == 0, (paper.stdout + paper.stderr)[-3000:]
    assert effect_lines(paper) == ["dualrank: config in effect: config.yaml; preset: none (the paper grid of "
                                   "config.yaml)"]


@pytest.mark.parametrize("typed", [
    [f"--configfile={DEMO}", "--configfile=my.yaml", "results/table1.csv"],
    ["--configfile", DEMO, "--configfile", "my.yaml", "--", "results/table1.csv"],
    [f"--configfile={DEMO}", "my.yaml", "--", "results/table1.csv"]])
def test_a_preset_that_snakemake_would_drop_is_refused_with_the_form_that_works(overlay, typed):
    proc = snakemake(overlay, *typed)
    assert proc.returncode != 0 and not effect_lines(proc)
    out = proc.stdout + proc.stderr
    assert "would be silently left out" in out, out[-3000:]
    # The form it shows is the one the test above runs: it merges both.
    assert f"snakemake ... --configfile {DEMO} my.yaml -- results/table1.csv" in out


def test_command_line_reading():
    assert configfile_groups(["-n", "--configfile=a.yaml", "b.yaml", "--cores", "2", "t"]) == [["a.yaml", "b.yaml"]]
    assert configfile_groups(["--configfiles", "a.yaml", "b.yaml", "--", "--configfile", "c"]) == [["a.yaml", "b.yaml"]]
    assert typed_targets(["--configfile=a.yaml", "t1", "t2"]) == ["t1", "t2"]
    assert typed_targets(["--cores", "2", "t1"]) == []  # not plain: "2" could be a value or a target
    kept = [os.path.abspath("b.yaml")]
    assert dropped_configfiles([["b.yaml"]], kept, []) is None
    assert "a.yaml would be" in dropped_configfiles([["a.yaml"], ["b.yaml"]], kept, ["t"])
    # Started elsewhere with --directory: the typed relative path is the end of the kept one.
    assert dropped_configfiles([["x/b.yaml"]], ["/work/x/b.yaml"], []) is None
    assert config_in_effect(["config.yaml", "tests/presets/ci.yaml"], {"seeds": [0]}) == (
        "dualrank: config in effect: config.yaml + tests/presets/ci.yaml + --config seeds (each overriding the "
        "ones before); preset: none (the paper grid of config.yaml)")
