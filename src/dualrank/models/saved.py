"""A trained model's directory: safetensors weights in the layouts other libraries load.

Every directory holds the backbone as a Hugging Face ``BertModel`` (``config.json``,
``model.safetensors``, the tokenizer's files) and ``dualrank.json`` (the architecture and the
settings the constructor takes). The output head sits beside it, laid out as a
sentence-transformers module pipeline (``modules.json``) wherever that library has the
pieces, so that the directory loads without this package:

* ``de``: ``SentenceTransformer(dir)``: Transformer -> Pooling (CLS) -> Dropout -> LayerNorm
  (without ``layer_norm``: no LayerNorm), dot-product similarity; ``encode_query`` and
  ``encode_document`` truncate to the DE's query and passage lengths.
* ``ca``: ``CrossEncoder(dir)``: the same head, then Dense (hidden -> 1, no activation) writes
  the score; ``predict`` returns the raw score (identity activation, not a sigmoid). The pair
  is cut to query + passage length + 3 ([CLS], 2 [SEP]). BERT's own sequence-classification
  head (``AutoModelForSequenceClassification``) is a tanh pooler, not this head, so that class
  cannot hold the CA without custom code.
* ``colbert``: no sentence-transformers module normalises token embeddings, so only
  ``model.safetensors`` plus ``colbert_head.safetensors`` (``norm.weight``, ``norm.bias``: the
  LayerNorm applied to every token's output): s(q, d) = mean over the query's tokens ([CLS]
  and [SEP] included) of the largest dot product with the passage's tokens.

Run directories written before this layout hold ``weights.pt`` (the ranker's state dict as a
torch pickle); :func:`read_weights` still reads it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ST = "sentence_transformers"
TRANSFORMER = f"{ST}.base.modules.transformer.Transformer"
LEGACY_WEIGHTS = "weights.pt"
WEIGHTS = "model.safetensors"


def _modules(arch: str, hidden: int, dropout: float, layer_norm: bool) -> list[dict]:
    """The sentence-transformers modules after the Transformer: name, type, config and the
    ranker parameters (prefix in the module's file -> prefix in the ranker) each one holds."""
    if arch == "colbert":
        return []
    mods = [dict(name="Pooling", type=f"{ST}.sentence_transformer.modules.pooling.Pooling",
                 config={"embedding_dimension": hidden, "pooling_mode": "cls", "include_prompt": True}),
            dict(name="Dropout", type=f"{ST}.sentence_transformer.modules.dropout.Dropout",
                 config={"dropout": dropout})]
    if layer_norm:
        mods.append(dict(name="LayerNorm", type=f"{ST}.sentence_transformer.modules.layer_norm.LayerNorm",
                         config={"dimension": hidden}, params={"norm.": "head.norm."}))
    if arch == "ca":
        mods.append(dict(name="Dense", type=f"{ST}.base.modules.dense.Dense",
                         config={"in_features": hidden, "out_features": 1, "bias": True,
                                 "activation_function": "torch.nn.modules.linear.Identity",
                                 "module_input_name": "sentence_embedding", "module_output_name": "scores"},
                         params={"linear.": "score."}))
    for i, m in enumerate(mods, 1):
        m["path"] = f"{i}_{m['name']}"
    return mods


def _weight_files(arch: str, hidden: int, dropout: float, layer_norm: bool) -> list[tuple[str, str, str]]:
    """(file, key prefix in the file, key prefix in the ranker) of every saved parameter."""
    files = [(WEIGHTS, "", "backbone.")]
    if arch == "colbert":
        return files + ([("colbert_head.safetensors", "norm.", "head.norm.")] if layer_norm else [])
    return files + [(f"{m['path']}/{WEIGHTS}", src, dst) for m in _modules(arch, hidden, dropout, layer_norm)
                    for src, dst in m.get("params", {}).items()]


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n")


def _max_length(arch: str, query_length: int, passage_length: int) -> int:
    # The DE and ColBERT cut passages (the longer input) to passage_length tokens with [CLS] and
    # [SEP]; the CA's pair is query + passage length plus [CLS] and two [SEP] (models/ca.py).
    return query_length + passage_length + 3 if arch == "ca" else passage_length


def save(model, out_dir: str | Path) -> None:
    """Write ``model`` (a :class:`dualrank.models.Ranker`) to ``out_dir`` in the layout above."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = model.settings
    hidden = model.backbone.config.hidden_size
    config = copy.deepcopy(model.backbone.config)
    config.architectures = [type(model.backbone).__name__]
    config.save_pretrained(out)
    model.tokenizer.save_pretrained(out)
    tok_config = json.loads((out / "tokenizer_config.json").read_text())
    tok_config["model_max_length"] = _max_length(model.arch, s["query_length"], s["passage_length"])
    _write_json(out / "tokenizer_config.json", tok_config)

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    saved = set()
    for name, src, dst in _weight_files(model.arch, hidden, s["dropout"], s["layer_norm"]):
        part = {src + k[len(dst):]: v for k, v in state.items() if k.startswith(dst)}
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        save_file(part, out / name, metadata={"format": "pt"})
        saved |= {k for k in state if k.startswith(dst)}
    if saved != set(state):
        raise ValueError(f"parameters with no place in the saved layout: {sorted(set(state) - saved)}")

    mods = _modules(model.arch, hidden, s["dropout"], s["layer_norm"])
    if mods:
        transformer = {"transformer_task": "feature-extraction",
                       "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
                       "module_output_name": "token_embeddings"}
        if model.arch == "de":
            transformer |= {"query_length": s["query_length"], "document_length": s["passage_length"]}
        _write_json(out / "sentence_bert_config.json", transformer)
        entries = [{"idx": 0, "name": "0", "path": "", "type": TRANSFORMER}]
        for i, m in enumerate(mods, 1):
            entries.append({"idx": i, "name": str(i), "path": m["path"], "type": m["type"]})
            _write_json(out / m["path"] / "config.json", m["config"])
        _write_json(out / "modules.json", entries)
        st_config = ({"model_type": "SentenceTransformer", "similarity_fn_name": "dot",
                      "prompts": {"query": "", "document": ""}, "default_prompt_name": None}
                     if model.arch == "de" else
                     {"model_type": "CrossEncoder", "activation_fn": "torch.nn.modules.linear.Identity",
                      "prompts": {}, "default_prompt_name": None})
        _write_json(out / "config_sentence_transformers.json", st_config)
    _write_json(out / "dualrank.json", {"arch": model.arch, **s})


def read_weights(model_dir: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of the ranker saved in ``model_dir`` (either layout), on the CPU."""
    model_dir = Path(model_dir)
    if not (model_dir / WEIGHTS).exists() and (model_dir / LEGACY_WEIGHTS).exists():
        return torch.load(model_dir / LEGACY_WEIGHTS, map_location="cpu", weights_only=True)
    meta = json.loads((model_dir / "dualrank.json").read_text())
    hidden = json.loads((model_dir / "config.json").read_text())["hidden_size"]
    state = {}
    for name, src, dst in _weight_files(meta["arch"], hidden, meta.get("dropout", 0.1), meta.get("layer_norm", True)):
        state |= {dst + k[len(src):]: v for k, v in load_file(model_dir / name).items() if k.startswith(src)}
    return state
