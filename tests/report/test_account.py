"""The README's demo account: generated from the committed snapshot of a finished demo's tables
(docs/demo-results), so every number and comparison it states is checked here."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from dualrank.data.io import InputError
from dualrank.report import account

ROOT = Path(__file__).resolve().parents[2]


def test_readme_block_is_what_the_snapshot_gives():
    """Fails when README.md's demo account and docs/demo-results disagree (a hand edit, or a new
    snapshot without regenerating); the fix is `dualrank demo-account ...`."""
    account.update(ROOT / "docs/demo-results", ROOT / "README.md", check=True)


def test_check_fails_on_a_hand_edit(tmp_path):
    snapshot, readme = tmp_path / "docs" / "demo-results", tmp_path / "README.md"
    shutil.copytree(ROOT / "docs/demo-results", snapshot)
    text = (ROOT / "README.md").read_text()
    readme.write_text(text.replace("is above the one-hot DE", "is far above the one-hot DE", 1))
    with pytest.raises(InputError, match="its demo account is not what"):
        account.update(snapshot, readme, check=True)
    account.update(snapshot, readme)          # regenerated: the hand edit is gone
    assert readme.read_text().split(account.END)[0].split(account.BEGIN)[1] == \
        text.split(account.END)[0].split(account.BEGIN)[1]


def test_readme_numbers_are_the_snapshots_means():
    """An independent reading of the snapshot: each Table 1 number the README states is the
    rounded mean of table1.csv."""
    t1 = pd.read_csv(ROOT / "docs/demo-results/table1.csv")
    block = (ROOT / "README.md").read_text().split(account.BEGIN)[1].split(account.END)[0]
    dev = t1[(t1["column"] == "MSMARCO re-rank") & (t1["metric"] == "mrr@10")].set_index("row")["mean"]
    ca, de = dev["Cross-attention BERT (12-layer)"], dev["Dual-encoder BERT (6-layer)"]
    assert f"the CA ({ca:.3f}) is {'above' if ca > de else 'below'} the one-hot DE ({de:.3f})" in block
    for loss in ("MSE", "Margin MSE", "RankDistil-B", "M3SE", "Softmax CE"):
        assert f"{loss} {dev[loss]:.3f}" in block


def write(tmp_path, name, rows):
    pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)


def test_claims_follow_the_numbers(tmp_path):
    t1 = []
    for col, vals in (("MSMARCO re-rank", {"BM25": 0.5, "Cross-attention BERT (12-layer)": 0.3,
                                           "Dual-encoder BERT (6-layer)": 0.4, "MSE": 0.45, "Margin MSE": 0.4,
                                           "RankDistil-B": 0.1, "M3SE": 0.2, "Softmax CE": 0.41}),
                      ("NQ re-rank", {"BM25": 0.1, "Cross-attention BERT (12-layer)": 0.6,
                                      "Dual-encoder BERT (6-layer)": 0.5, "MSE": 0.1, "Margin MSE": 0.1,
                                      "RankDistil-B": 0.1, "M3SE": 0.1, "Softmax CE": 0.1})):
        t1 += [{"row": r, "column": col, "metric": "mrr@10", "mean": v, "std": None, "seeds": 2}
               for r, v in vals.items()]
    write(tmp_path, "table1", t1)
    write(tmp_path, "table2", [{"row": e, "column": f"{a} dev mrr@10", "mean": v, "seeds": 1}
                               for e, ca, de in (("bert-2-128", 0.2, 0.3), ("bert-6-768", 0.5, 0.4))
                               for a, v in (("CA", ca), ("DE", de))])
    text = account.account(tmp_path)
    assert ("- MS MARCO-like dev re-ranking: the CA (0.300) is below the one-hot DE (0.400); BM25 (0.500) is "
            "above the CA and above the DE. Distillation losses above the one-hot DE: MSE 0.450, Softmax CE 0.410; "
            "not above it: Margin MSE 0.400, RankDistil-B 0.100, M3SE 0.200.") in text
    assert "Distillation losses above the one-hot DE: none;" in text.splitlines()[3]
    assert ("the CA is above the DE on dev at 1 of 2 encoders; not at bert-2-128 (CA 0.200, DE 0.300).") in text


def test_block_replaced_between_markers_only():
    readme = f"# x\n\n{account.BEGIN}\nold\n{account.END}\n\nrest\n"
    assert account.replace_block(readme, "new") == f"# x\n\n{account.BEGIN}\nnew\n{account.END}\n\nrest\n"
    with pytest.raises(InputError, match="needs exactly one"):
        account.replace_block("# no markers\n", "new")
