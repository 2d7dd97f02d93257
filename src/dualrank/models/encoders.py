"""BERT backbones by name: a Hugging Face id, a local directory, or a random-initialised shape.

config.yaml names encoders by Hugging Face id (the Turc et al. small BERTs and bert-base);
the demo preset replaces each with an ``init`` shape (layers, hidden, heads, intermediate)
trained from scratch on its own WordPiece vocabulary, because it has no hub access.
"""

from __future__ import annotations

from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedTokenizerBase

from dualrank.data.io import InputError

INIT_KEYS = {"layers", "hidden", "heads", "intermediate"}


def source(spec: dict) -> str | None:
    return spec.get("path") or spec.get("hf_id")


def load_tokenizer(spec: dict, tokenizer_dir: str | None = None) -> PreTrainedTokenizerBase:
    """The encoder's own tokenizer if it has pre-trained weights, else the trained vocabulary."""
    name = tokenizer_dir if "init" in spec else source(spec)
    if name is None:
        raise InputError(f"encoder spec {spec} needs one of hf_id, path or init")
    return AutoTokenizer.from_pretrained(name)


def build_backbone(spec: dict, tokenizer: PreTrainedTokenizerBase, dropout: float = 0.1) -> BertModel:
    if "init" in spec:
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
    return AutoModel.from_pretrained(source(spec), add_pooling_layer=False)
