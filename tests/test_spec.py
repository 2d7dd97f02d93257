"""The typed specs: the JSON schema and the spec types name the same keys with the same
defaults, from_dict refuses what the schema refuses (naming the key), and to_dict gives back
every training spec of the paper grid and the demo exactly (the rule's params)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dualrank import grid
from dualrank.data.io import InputError
from dualrank.spec import (EncoderSpec, ExecutionSpec, InitShape, LossSpec, TrainingSpec, TrainJob, TrainSpec,
                           split_execution)

ROOT = Path(__file__).resolve().parents[1]


def schema() -> dict:
    return yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def config(preset: str | None = None) -> dict:
    c = yaml.safe_load((ROOT / "config.yaml").read_text())
    if preset:
        c = merged(c, yaml.safe_load((ROOT / preset).read_text()))
    return c


def merged(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for k, v in overlay.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def schema_defaults(props: dict) -> dict:
    return {k: p["default"] for k, p in props.items() if "default" in p}


# -- the schema and the types agree ---------------------------------------------------------------

def test_training_section_is_the_training_and_execution_specs():
    s = schema()
    props = s["definitions"]["training"]["properties"]
    assert set(props) == set(TrainingSpec.keys()) | set(ExecutionSpec.keys())
    assert not set(TrainingSpec.keys()) & set(ExecutionSpec.keys())
    # The top-level `training` must give exactly the keys that have no default.
    required = s["properties"]["training"]["allOf"][1]["required"]
    assert set(required) == set(TrainingSpec.keys()) - set(TrainingSpec.defaults())
    assert set(ExecutionSpec.defaults()) == set(ExecutionSpec.keys())
    # No `default:` in this section: Snakemake's validate() would write it into every dataset's
    # and loss variant's `training`, where it would override the top-level value.
    assert schema_defaults(props) == {}


def test_loss_section_is_the_loss_spec_and_its_variant_keys():
    props = schema()["definitions"]["loss"]["properties"]
    assert set(props) == (set(LossSpec.keys()) - {"name"}) | set(LossSpec.VARIANT_KEYS)
    assert set(props["loss"]["enum"]) == set(_losses())
    defaults = LossSpec.defaults()
    assert all(defaults[k] == v for k, v in schema_defaults(props).items())


def test_loss_spec_holds_every_hyper_parameter_of_the_losses():
    import inspect

    declared = {name for cls in _losses().values() for name, p in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    assert declared == set(LossSpec.keys()) - {"name"}


def _losses():
    from dualrank.losses import LOSSES

    return LOSSES


def test_encoder_section_is_the_encoder_spec():
    enc = schema()["definitions"]["encoder"]["properties"]
    assert set(enc) == set(EncoderSpec.keys())
    init = enc["init"]
    assert set(init["properties"]) == set(init["required"]) == set(InitShape.keys())
    for name, p in init["properties"].items():
        assert InitShape.keys()[name].metadata["check"].low == p["minimum"], name


def test_ranges_match_the_schema():
    """Every training and loss value the schema accepts at its bounds, from_dict accepts, and
    every value just outside them it refuses, naming the key."""
    props = {**schema()["definitions"]["training"]["properties"], **schema()["definitions"]["loss"]["properties"]}
    specs = {**{k: TrainingSpec for k in TrainingSpec.keys()}, **{k: ExecutionSpec for k in ExecutionSpec.keys()},
             **{k: LossSpec for k in LossSpec.keys()}}
    for key, p in props.items():
        if key not in specs or key == "loss":
            continue
        p = {**schema()["definitions"]["prob"], **p} if "$ref" in p else p
        check = specs[key].keys()[key].metadata["check"]
        for bound, edge, is_open in (("minimum", check.low, not check.low_open),
                                     ("exclusiveMinimum", check.low, check.low_open),
                                     ("maximum", check.high, not check.high_open),
                                     ("exclusiveMaximum", check.high, check.high_open)):
            if bound in p:
                assert edge == p[bound] and is_open, (key, bound)


# -- from_dict: what it refuses, naming the key ---------------------------------------------------

def training(**extra) -> dict:
    return {"lr": 1e-3, "weight_decay": 0.01, "batch_size": 8, "max_steps": 6, "query_length": 12,
            "passage_length": 48, "dropout": 0.1, "output_layer_norm": True, "eval_every": 3, "patience": 2, **extra}


def whole(**training_extra) -> dict:
    return {"arch": "de", "encoder": {"init": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}},
            "loss": {"name": "softmax_ce", "temperature": 2.0}, "k": 4, "seed": 3,
            "training": training(**training_extra)}


@pytest.mark.parametrize("key, value, message", [
    ("lrate", 1, r"training: unknown key\(s\) \['lrate'\]"),
    ("token_dropout", 1.0, r"training\.token_dropout must be a number in \[0, 1\), got 1\.0"),
    ("mlm_weight", -1, r"training\.mlm_weight must be a number >= 0"),
    ("mlm_probability", 0, r"training\.mlm_probability must be a number in \(0, 1\)"),
    ("uniform_negatives", -1, r"training\.uniform_negatives must be an integer >= 0, got -1"),
    ("uniform_negatives", 1.5, r"training\.uniform_negatives must be an integer"),
    ("in_batch_negatives", "yes", r"training\.in_batch_negatives must be true or false, got 'yes'"),
    ("early_stopping", 0, r"training\.early_stopping must be true or false, got 0"),
    ("snapshot_steps", [0], r"training\.snapshot_steps must be a list of integers >= 1"),
    ("batch_size", True, r"training\.batch_size must be an integer >= 1, got True"),
    ("lr", float("nan"), r"training\.lr must be a number > 0"),
    ("max_grad_norm", 0, r"training\.max_grad_norm must be a number > 0"),
])
def test_from_dict_names_the_key_at_fault(key, value, message):
    with pytest.raises(InputError, match=message):
        TrainSpec.from_dict(whole(**{key: value}))


def test_from_dict_names_missing_and_unknown_keys_everywhere():
    t = training()
    del t["lr"], t["dropout"]
    with pytest.raises(InputError, match=r"training: missing key\(s\) \['lr', 'dropout'\]"):
        TrainingSpec.from_dict(t)
    with pytest.raises(InputError, match=r"spec: unknown key\(s\) \['extra'\]"):
        TrainSpec.from_dict({**whole(), "extra": 1})
    with pytest.raises(InputError, match=r"loss: unknown key\(s\) \['temprature'\]"):
        TrainSpec.from_dict({**whole(), "loss": {"name": "softmax_ce", "temprature": 1.0}})
    with pytest.raises(InputError, match=r"loss\.temperature must be a number > 0"):
        LossSpec.from_dict({"name": "softmax_ce", "temperature": 0})
    with pytest.raises(InputError, match=r"encoder\.init\.hidden must be an integer >= 8, got 4"):
        TrainSpec.from_dict({**whole(), "encoder": {"init": {"layers": 1, "hidden": 4, "heads": 1,
                                                             "intermediate": 8}}})
    with pytest.raises(InputError, match=r"encoders\.x: give exactly one of hf_id, path, init \(got \['hf_id', 'p"):
        EncoderSpec.from_dict({"hf_id": "bert-base-uncased", "path": "/m"}, "encoders.x")
    with pytest.raises(InputError, match=r"training\.processes must be an integer >= 1, got 0"):
        TrainSpec.with_execution(whole(processes=0))
    with pytest.raises(InputError, match=r"spec: missing key\(s\) \['training'\]"):
        TrainSpec.from_dict({k: v for k, v in whole().items() if k != "training"})


def test_defaults_and_execution_keys():
    spec, how = TrainSpec.with_execution(whole(checkpoint_every=5, processes=2))
    t = spec.training
    assert (t.warmup_steps, t.eval_batch_size, t.train_eval_groups, t.valid_queries, t.snapshot_steps) == \
        (0, 256, 500, None, ())
    # Early stopping unless a spec says otherwise; a spec that does not say stays without the key.
    assert t.early_stopping is True and "early_stopping" not in spec.to_dict()["training"]
    assert TrainSpec.from_dict(whole(early_stopping=False)).to_dict()["training"]["early_stopping"] is False
    assert (how.checkpoint_every, how.processes) == (5, 2)
    assert "processes" not in spec.to_dict()["training"]
    assert TrainSpec.with_execution(whole())[1] == ExecutionSpec()
    assert split_execution({"lr": 1, "processes": 2}) == ({"lr": 1}, {"processes": 2})
    assert spec.loss.hyper_parameters() == {"temperature": 2.0}


def test_to_dict_gives_back_what_was_given():
    d = whole(snapshot_steps=[4, 2], warmup_steps=0, max_grad_norm=None)
    d["encoder"] = {"hf_id": None, "init": d["encoder"]["init"]}  # the demo's overlay
    spec = TrainSpec.from_dict(d)
    assert spec.to_dict() == d and json.dumps(spec.to_dict()) == json.dumps(d)
    assert spec.training.snapshot_steps == (4, 2)
    # A spec built in code writes every key; replace() writes what it changes.
    built = TrainingSpec.from_dict(training()).replace(eval_batch_size=16)
    assert list(built.to_dict())[-1] == "eval_batch_size"
    assert TrainingSpec(**training()).to_dict()["eval_batch_size"] == 256


@pytest.mark.parametrize("preset", [None, "workflow/presets/demo.yaml", "tests/presets/ci.yaml"])
def test_every_grid_spec_round_trips(preset):
    c = config(preset) if preset != "tests/presets/ci.yaml" else \
        merged(config("workflow/presets/demo.yaml"), yaml.safe_load((ROOT / preset).read_text()))
    for ds in c["datasets"]:
        for loss in c["losses"]:
            for enc in c["encoders"]:
                d = json.loads(json.dumps(grid.train_spec(c, grid.Run(ds, "de", enc, loss, 1)), sort_keys=True))
                spec, how = TrainSpec.with_execution(d)
                assert json.dumps(spec.to_dict()) == json.dumps(d)
                assert how == ExecutionSpec()


def test_train_job_fields_are_the_command_line_flags(capsys):
    from dualrank.cli.train import main

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(f"--{name.replace('_', '-')} " in shown for name in TrainJob.__dataclass_fields__)


def test_spec_and_grid_import_neither_torch_nor_snakemake():
    code = ("import sys, dualrank.spec, dualrank.grid; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'snakemake')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"
