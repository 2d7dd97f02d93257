"""What an encoder needs on this machine, checked when the DAG is built (grid.checks): a ``path``
that is a model directory, an ``hf_id`` in the local Hugging Face cache. No network is used."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from dualrank.data.io import InputError
from dualrank.spec import EncoderSpec

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model")


def _offline() -> bool:
    return any(os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def check_encoder_files(spec: EncoderSpec, where: str) -> tuple[int | None, str | None]:
    """The checkpoint's hidden size if found on this machine, and a warning if any: a ``path``
    that is not a model directory (config.json, weights, tokenizer) raises InputError naming
    ``where``; an ``hf_id`` not in the local Hugging Face cache raises offline (HF_HUB_OFFLINE)
    and is a warning online (the train job downloads it). No network is used."""
    def width(config_json: str) -> int | None:
        return json.loads(Path(config_json).read_text()).get("hidden_size")

    if spec.path is not None:
        d = Path(spec.path)
        lacks = [what for what, names in (("config.json", ("config.json",)), ("weights", WEIGHT_FILES),
                                          ("tokenizer", TOKENIZER_FILES))
                 if not any((d / n).is_file() for n in names)]
        if not d.is_dir() or lacks:
            raise InputError(f"config key {where}.path: {spec.path!r} is not a model directory "
                             f"({'no such directory' if not d.is_dir() else 'no ' + ', no '.join(lacks)}); "
                             f"it needs config.json, weights ({' or '.join(WEIGHT_FILES[:2])}) and a "
                             f"tokenizer ({' or '.join(TOKENIZER_FILES[:2])})")
        return width(d / "config.json"), None
    if spec.hf_id is None:
        return None, None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = [try_to_load_from_cache(spec.hf_id, n) for n in ("config.json", *WEIGHT_FILES[:2])]
    except ValueError as e:  # not a repository id at all
        raise InputError(f"config key {where}.hf_id: {spec.hf_id!r} is not a Hugging Face model id ({e})") from e
    if isinstance(found[0], str) and any(isinstance(f, str) for f in found[1:]):
        return width(found[0]), None
    advice = (f"config key {where}.hf_id: {spec.hf_id!r} is not in the local Hugging Face cache; "
              f"pre-download it with `hf download {spec.hf_id}` on a machine with network, or set "
              f"{where}.path to a local copy of the checkpoint (and hf_id: null)")
    if _offline():
        raise InputError(advice + " (HF_HUB_OFFLINE is set: the train job could not download it)")
    return None, advice + " (the train jobs will try to download it)"


def check_encoders_here(encoders: Mapping[str, Mapping]) -> tuple[dict[str, int | None], list[str]]:
    """:func:`check_encoder_files` of each config ``encoders.<name>``: their widths, the warnings."""
    widths, warnings = {}, []
    for name, raw in encoders.items():
        where = f"encoders.{name}"
        widths[name], warning = check_encoder_files(EncoderSpec.from_dict(raw, where), where)
        warnings += [warning] if warning else []
    return widths, warnings
