"""BERT backbones by name: a Hugging Face id, a local directory, or a random-initialised shape.

config.yaml names encoders by Hugging Face id (the Turc et al. small BERTs and bert-base);
the demo preset replaces each with an ``init`` shape (layers, hidden, heads, intermediate)
trained from scratch on its own WordPiece vocabulary, because it has no hub access.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedTokenizerBase

from dualrank.data.io import InputError

INIT_KEYS = {"layers", "hidden", "heads", "intermediate"}


def source(spec: dict) -> str | None:
    return spec.get("path") or spec.get("hf_id")


def is_init(spec: dict) -> bool:
    """A random-initialised shape: ``init`` given, and not null (an overlay switching an encoder
    to a pre-trained one writes ``init: null``)."""
    return spec.get("init") is not None


def _pretrained(load, spec: dict):
    """``load(name)`` of a pre-trained encoder, a failure told as what to do about it."""
    name = source(spec)
    try:
        return load(name)
    except (OSError, ValueError) as e:  # a repository id it is not, a folder holding no tokenizer
        how = ("a directory holding the checkpoint's config.json, weights and tokenizer" if spec.get("path")
               else "in the Hugging Face cache or reachable online: pre-download it with "
                    f"`hf download {name}` where there is network, or set the encoder's path: to a local copy")
        raise InputError(f"encoder {name!r} cannot be loaded; it must be {how} ({str(e).splitlines()[0]})") from e


def load_tokenizer(spec: dict, tokenizer_dir: str | None = None) -> PreTrainedTokenizerBase:
    """The encoder's own tokenizer if it has pre-trained weights, else the trained vocabulary."""
    if is_init(spec):
        if tokenizer_dir is None:
            raise InputError("an `init` encoder needs the trained vocabulary (--tokenizer)")
        return AutoTokenizer.from_pretrained(tokenizer_dir)
    if source(spec) is None:
        raise InputError(f"encoder spec {spec} needs one of hf_id, path or init")
    return _pretrained(AutoTokenizer.from_pretrained, spec)


def build_backbone(spec: dict, tokenizer: PreTrainedTokenizerBase, dropout: float = 0.1) -> BertModel:
    if is_init(spec):
        shape = spec["init"]
        if set(shape) != INIT_KEYS:
            raise InputError(f"encoder init shape {shape} must have exactly the keys {sorted(INIT_KEYS)}")
        config = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=shape["hidden"],
            num_hidden_layers=shape["layers"],
            num_attention_heads=shape["heads"],
            intermediate_size=shape["intermediate"],
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            max_position_embeddings=512,
            pad_token_id=tokenizer.pad_token_id,
        )
        return BertModel(config, add_pooling_layer=False)
    return _pretrained(lambda name: AutoModel.from_pretrained(name, add_pooling_layer=False), spec)


def load_pretrained(backbone: BertModel, directory: str) -> None:
    """Load the backbone ``dualrank pretrain`` saved in ``directory`` into ``backbone`` (built
    from the same `init` shape and vocabulary), or say why it does not fit."""
    path = Path(directory) / "model.safetensors"
    if not path.is_file():
        raise InputError(f"{directory}: no model.safetensors (not a `dualrank pretrain` output)")
    state, own = load_file(path), backbone.state_dict()
    wrong = sorted(k for k in own if k not in state or state[k].shape != own[k].shape)
    if wrong:
        raise InputError(f"{path}: does not fit the encoder's shape and vocabulary (e.g. {wrong[0]}); "
                         f"was it pre-trained with another `init` or tokenizer?")
    backbone.load_state_dict({k: state[k] for k in own})
