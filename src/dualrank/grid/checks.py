"""What the JSON schema cannot say about a config: names in one block that must name an entry
of another (:func:`check_config`), and what the config alone cannot say (:func:`check_resources`:
encoders' files on this machine, a FAISS index at the encoders' widths). common.smk runs both
right after the schema, so that a slip fails the dry run naming its key, not a job hours later.
"""

from __future__ import annotations

from dualrank.grid import LABEL_ONLY_LOSSES, encoder_shape, faiss_spec, is_distilled, retrieval_runs
from dualrank.grid.encoder_files import check_encoders_here
from dualrank.spec import EncoderSpec


def check_config(config: dict) -> None:
    """Raise InputError naming the config key whose reference to another entry is broken."""
    for name, spec in config["encoders"].items():  # exactly one of hf_id, path, init (null: absent)
        EncoderSpec.from_dict(spec, f"config key encoders.{name}")
    index = config.get("index", {})
    if not index.get("persistent", True) and index.get("factory") != "Flat":
        raise _error(f"config key index.factory: {index.get('factory')!r} needs index.persistent: true "
                     "(without an index, retrieval is exact: Flat)")
    _check_table(config, "table1")
    for name, e in config.get("experiments", {}).items():
        _check_experiment(config, name, e)
    for ds in sorted(config["datasets"]):
        t = config["datasets"][ds]["teacher"]
        if t["source"] == "ca" and (t.get("encoder") not in config["encoders"]
                                    or t.get("variant") not in config["losses"]):
            raise _error(f"config key datasets.{ds}.teacher: a CA teacher needs a known encoder and variant")
        if t["source"] == "ca" and is_distilled(config, t["variant"]):
            raise _error(f"config key datasets.{ds}.teacher.variant: {t['variant']!r} learns from this teacher, "
                         f"which would then depend on itself; name a variant of loss "
                         f"{' or '.join(sorted(LABEL_ONLY_LOSSES))}")
        for loss in config["datasets"][ds].get("losses", {}):
            if loss not in config["losses"]:
                raise _error(f"config key datasets.{ds}.losses: unknown loss variant {loss!r}")
        _check_splits(config, ds)


PREPARED_SPLITS = {"msmarco": ("train", "valid", "dev", "dl19"), "nq": ("train", "valid", "dev")}  # data.smk


def _check_splits(config: dict, ds: str) -> None:
    d = config["datasets"][ds]
    splits = d["synthetic"]["splits"] if d["source"] == "synthetic" else PREPARED_SPLITS[d["source"]]
    named = [(f"datasets.{ds}.valid_split", d["valid_split"])] + [
        (f"datasets.{ds}.evaluations.{n}.split", e.get("split", n)) for n, e in d["evaluations"].items()]
    for key, split in named:
        if split not in splits:
            raise _error(f"config key {key}: no split {split!r} in dataset {ds}; its splits: {', '.join(splits)}")


def _error(message: str) -> Exception:
    # The project's error for bad input (a ValueError), shown as one line naming the key.
    from dualrank.data.io import InputError

    return InputError(message)


def _check_table(config: dict, table: str) -> None:
    for row in config[table]["rows"]:
        if row["arch"] == "bm25":
            continue
        if row["encoder"] not in config["encoders"]:
            raise _error(f"config key {table}.rows '{row['name']}': unknown encoder {row['encoder']!r}")
        if row["loss"] not in config["losses"]:
            raise _error(f"config key {table}.rows '{row['name']}': unknown loss {row['loss']!r}")
    for col in config[table]["columns"]:
        ds = config["datasets"].get(col["dataset"])
        if ds is None or col["evaluation"] not in ds["evaluations"]:
            raise _error(f"config key {table}.columns '{col['name']}': no evaluation "
                         f"{col['evaluation']!r} in datasets.{col['dataset']}")


def _check_experiment(config: dict, name: str, e: dict) -> None:
    where = f"experiments.{name}"
    if e["dataset"] not in config["datasets"]:
        raise _error(f"config key {where}.dataset: unknown dataset {e['dataset']!r}")
    for ev in e["evaluations"]:
        if ev not in config["datasets"][e["dataset"]]["evaluations"]:
            raise _error(f"config key {where}.evaluations: no evaluation {ev!r} in datasets.{e['dataset']}")
    runs = e.get("rows", []) + [{**m, "encoder": m.get("encoder", enc)}
                                for enc in e.get("encoders", []) for m in e.get("methods", {}).values()]
    for r in runs:
        if r["encoder"] not in config["encoders"]:
            raise _error(f"config key {where}: unknown encoder {r['encoder']!r}")
        if r["loss"] not in config["losses"]:
            raise _error(f"config key {where}: unknown loss variant {r['loss']!r}")




# -- What the config alone cannot say (common.smk, after check_config): files here, FAISS --------

def _used_encoders(config: dict) -> dict[str, dict]:
    used = {r["encoder"] for r in config["table1"]["rows"] if r["arch"] != "bm25"}
    used |= {d["teacher"]["encoder"] for d in config["datasets"].values() if d["teacher"]["source"] == "ca"}
    for e in config.get("experiments", {}).values():
        used |= {r["encoder"] for r in e.get("rows", []) + list(e.get("methods", {}).values()) if "encoder" in r}
        used |= set(e.get("encoders", []))
    return {n: spec for n, spec in config["encoders"].items() if n in used}


def check_resources(config: dict) -> list[str]:
    """Raise InputError naming the key of a used encoder that cannot load here (grid.encoder_files.check_encoder_files)
    or of an ``index`` FAISS cannot build at a retrieval encoder's width; return the warnings."""
    widths, warnings = check_encoders_here(_used_encoders(config))
    if config["index"].get("persistent") and faiss_spec(config) != {"factory": "Flat"}:
        from dualrank.retrieval import ann

        runs = [r for r in retrieval_runs(config) if r.arch != "bm25"]
        for dim in {widths.get(r.encoder) or encoder_shape(config, r.encoder)["hidden"] for r in runs}:
            try:
                ann.check_spec(faiss_spec(config), dim)
            except ValueError as e:
                raise _error(f"config key index: {e}") from None
    return warnings
