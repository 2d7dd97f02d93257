"""Each paper result's renderer kind and params, so that a layout needs only its name and cells
(config.yaml may still give ``kind`` or ``params`` keys; they override these key by key).

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

PRESETS: dict[str, dict] = {
    "table2": {"kind": "table2", "params": {"row_header": "Model", "sets": ["train", "dev"]}},
    "table3": {"kind": "discrepancy", "params": {"low": "CA", "high": "DE", "top": 10}},
    "table4": {"kind": "metrics", "params": {"row_header": "Model / supervision / loss"}},
    "table5": {"kind": "metrics", "params": {"row_header": "Model / supervision / loss"}},
    "table6": {"kind": "metrics", "params": {"row_header": "# of documents, loss"}},
    "table7": {"kind": "metrics", "params": {"row_header": "Model"}},
    "table8": {"kind": "metrics", "params": {"row_header": "Smoothing α", "columns": TRAIN_DEV}},
    "table9": {"kind": "metrics", "params": {"row_header": "Strategy", "columns": TRAIN_DEV}},
    "table10": {"kind": "disagreement", "params": {"models": PAIR, "better": "Margin MSE", "evaluation": "dl19"}},
    "table11": {"kind": "disagreement", "params": {"models": PAIR, "better": "Softmax CE", "evaluation": "dl19"}},
    "table12": {"kind": "metrics", "params": {"row_header": "Supervision / loss",
                                              "columns": [{"evaluation": "dev", "metric": "mrr@10"}]}},
    "figure1": {"kind": "embedding_size", "params": {"sets": ["train", "dev"]}},
    "figure2": {"kind": "score_distributions", "params": {"density": ["CA", "DE"], "margins": ["CA", "DE", "DIST"]}},
    "figure3": {"kind": "embedding_size", "params": {"sets": ["train", "dev"]}},
    "figure4": {"kind": "learning_curve", "params": {}},
    "figure5": {"kind": "score_distributions", "params": {"source": "train", "density": ["CA", "DE"]}},
    "figure6": {"kind": "score_distributions", "params": {"density": ["CA", "DE"], "centre": False}},
    "figure7": {"kind": "snapshots", "params": {}},
    "figure8": {"kind": "score_distributions", "params": {"density": [], "margins": ["CA", "DE", "DIST"]}},
}


def apply(layout: dict) -> dict:
    """The layout with its result's preset filled in under what it gives itself."""
    preset = PRESETS.get(layout.get("name"), {})
    out = {**preset, **layout}
    out["params"] = {**preset.get("params", {}), **(layout.get("params") or {})}
    return out
