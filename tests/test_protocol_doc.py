"""docs/protocol.md, the ledger of every experimental setting, stays complete and well-formed.

Every ledger row (a table whose header is ``setting | what the paper says | what the pipeline
does | status``) has four cells and one of the three statuses; every key of config.yaml's
``training:`` and every key of every loss variant (its K, hyper-parameters and own
``training:`` keys) is named in some row, so a new key without a ledger row fails here; the
demo section names every demo setting that differs from the paper config; and the closing
count of rows by status is the tables' own.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "protocol.md"
LEDGER_HEADER = ["setting", "what the paper says", "what the pipeline does", "status"]
STATUSES = {  # a status cell starts with one of these; the key is how the count names it
    "as the paper": "as the paper",
    "paper silent: our choice, because ": "paper silent: our choice",
    "deviation, because ": "deviation",
}
DEMO_HEADING = "## The demo preset"
COUNT_HEADING = "## Rows by status"


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every Markdown table of ``text``: (header cells, body rows' cells)."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        rule = i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip())
        if lines[i].startswith("|") and rule:
            header, body, i = cells(lines[i]), [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                body.append(cells(lines[i]))
                i += 1
            out.append((header, body))
        else:
            i += 1
    return out


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = text.find("\n## ", start + len(heading))
    return text[start:] if nxt < 0 else text[start:nxt]


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text()


@pytest.fixture(scope="module")
def ledger(doc) -> list[list[str]]:
    """The ledger's rows (the demo section's table is not part of it)."""
    body = doc[: doc.index(DEMO_HEADING)]
    rows = [r for header, rs in tables(body) if [h.lower() for h in header] == LEDGER_HEADER for r in rs]
    assert rows, "docs/protocol.md has no ledger table"
    return rows


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def status_of(row: list[str]) -> str | None:
    return next((name for prefix, name in STATUSES.items() if row[3].startswith(prefix)), None)


def test_every_table_in_the_ledger_has_the_four_columns(doc):
    body = doc[: doc.index(DEMO_HEADING)]
    for header, rows in tables(body):
        assert [h.lower() for h in header] == LEDGER_HEADER, f"a table with header {header}"
        for r in rows:
            assert len(r) == 4, f"row {r[0]!r} has {len(r)} cells (a '|' inside a cell?)"
            assert all(r), f"row {r[0]!r} has an empty cell"


def test_every_row_has_one_of_the_three_statuses(ledger):
    bad = [r[0] for r in ledger if status_of(r) is None]
    assert not bad, f"rows without 'as the paper' / 'paper silent: our choice, because' / 'deviation, because': {bad}"


def test_settings_are_not_repeated(ledger):
    dup = [s for s, n in Counter(r[0] for r in ledger).items() if n > 1]
    assert not dup, f"settings with two rows: {dup}"


def test_an_open_deviation_names_its_issue_item(ledger):
    for r in ledger:
        if "open:" in r[3]:
            assert status_of(r) == "deviation", r[0]
            assert re.search(r"\(open: issue \d+ item \d+", r[3]), f"{r[0]}: write '(open: issue N item M)'"


def named(key: str, text: str) -> bool:
    """``key`` written in backticks, as a whole dotted name."""
    # `losses.one_hot.k` must not be satisfied by `losses.one_hot.k2...`: the key ends the name.
    return re.search(rf"`{re.escape(key)}(?![\w.])", text) is not None


def pipeline_text(ledger) -> str:
    return "\n".join(r[2] for r in ledger)


def test_every_training_key_has_a_row(ledger, config):
    text = pipeline_text(ledger)
    missing = [k for k in config["training"] if not named(f"training.{k}", text)]
    assert not missing, f"config.yaml training keys with no ledger row naming `training.KEY`: {missing}"


def variant_keys(config: dict) -> list[str]:
    """``losses.VARIANT.KEY`` for each K and hyper-parameter, ``losses.VARIANT.training.KEY`` for
    each of a variant's own training keys."""
    keys = []
    for name, v in config["losses"].items():
        keys += [f"losses.{name}.{k}" for k in v if k not in ("loss", "training")]
        keys += [f"losses.{name}.training.{k}" for k in v.get("training", {})]
    return keys


def test_every_loss_variant_key_has_a_row(ledger, config):
    text = pipeline_text(ledger)
    missing = [k for k in variant_keys(config) if not named(k, text)]
    assert not missing, f"loss variant keys with no ledger row: {missing}"


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def test_the_demo_section_names_every_training_and_loss_setting_it_changes(doc, config):
    demo = yaml.safe_load((ROOT / "workflow" / "presets" / "demo.yaml").read_text())
    text = section(doc, DEMO_HEADING)
    changed = [f"training.{k}" for k, v in demo.get("training", {}).items() if config["training"].get(k) != v]
    for name, v in demo.get("losses", {}).items():
        base = flat(config["losses"][name])
        changed += [f"losses.{name}.{k}" for k, x in flat(v).items() if base.get(k) != x]
    missing = [k for k in changed if not named(k, text)]
    assert not missing, f"demo settings that differ from config.yaml but are not in '{DEMO_HEADING}': {missing}"


def test_the_count_by_status_is_the_tables_own(doc, ledger):
    counted = Counter(status_of(r) for r in ledger)
    stated = {}
    for line in section(doc, COUNT_HEADING).splitlines():
        m = re.fullmatch(r"- (.+?): (\d+)(?: \(.*\))?", line.strip())
        if m:
            stated[m.group(1)] = int(m.group(2))
    assert stated.pop("total", None) == len(ledger), "the total"
    assert stated == {name: counted[name] for name in STATUSES.values()}
