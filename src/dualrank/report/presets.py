"""Each paper result's default renderer params (config.yaml's ``experiments.<name>.params``
override them key by key). The renderer ``kind`` is config.yaml's own (a required key).

Row names a layout must use for the paper's values to be found (src/dualrank/report/reference/paper.csv):

* table2: the encoder names bert-{2,6}-{128,256,512,768}, bert-base (cells carry ``arch``);
* table4, table5: "Cross-attention one-hot", "Dual-encoder one-hot", "MSE", "Margin MSE", "KL",
  "M3SE";
* table6: "K=2, Softmax CE", "K=2, M3SE", ... for K in 2, 10, 20, 100;
* table7: "Cross-attention BERT", "Dual-encoder ColBERT", "M3SE", "Softmax CE" (and the quoted
  "MSE (Hofstätter et al.)", "Margin MSE (Hofstätter et al.)");
* table8: the smoothing α as written in the paper: "0.0", "0.1", "0.2", "0.3", "0.9", "0.99";
* table9: "Baseline DE", "Increased embedding dropout", "Token dropout", "Masked language loss",
  "Focal loss";
* table12: "One-hot Softmax CE", "Margin MSE", "M3SE", "KL", each also with " + negative mining";
* table10, table11: rows "Margin MSE" and "Softmax CE"; table3 and the figures: "CA", "DE",
  "DIST" (the figures' legends).
"""

from __future__ import annotations

TRAIN_DEV = [{"evaluation": "train", "metric": "mrr@10"}, {"evaluation": "dev", "metric": "mrr@10"}]
PAIR = ["Margin MSE", "Softmax CE"]

PARAMS: dict[str, dict] = {
    "table2": {"row_header": "Model", "sets": ["train", "dev"]},
    "table3": {"low": "CA", "high": "DE", "top": 10},
    "table4": {"row_header": "Model / supervision / loss"},
    "table5": {"row_header": "Model / supervision / loss"},
    "table6": {"row_header": "# of documents, loss"},
    "table7": {"row_header": "Model"},
    "table8": {"row_header": "Smoothing α", "columns": TRAIN_DEV},
    "table9": {"row_header": "Strategy", "columns": TRAIN_DEV},
    "table10": {"models": PAIR, "better": "Margin MSE", "evaluation": "dl19"},
    "table11": {"models": PAIR, "better": "Softmax CE", "evaluation": "dl19"},
    "table12": {"row_header": "Supervision / loss", "columns": [{"evaluation": "dev", "metric": "mrr@10"}]},
    "figure1": {"sets": ["train", "dev"]},
    "figure2": {"density": ["CA", "DE"], "margins": ["CA", "DE", "DIST"]},
    "figure3": {"sets": ["train", "dev"]},
    "figure4": {},
    "figure5": {"source": "train", "density": ["CA", "DE"]},
    "figure6": {"density": ["CA", "DE"], "centre": False},
    "figure7": {},
    "figure8": {"density": [], "margins": ["CA", "DE", "DIST"]},
}


def apply(layout: dict) -> dict:
    """The layout with its result's default params filled in under those it gives itself."""
    return {**layout, "params": {**PARAMS.get(layout.get("name"), {}), **(layout.get("params") or {})}}
