"""The code stays a place a newcomer can find their way in: packages by concern, small units.

Limits from issue 11: no module in src/ over 400 lines, no function over 80, no class over 150;
at most 12 entries at the top of the package; every stage command has its thin module.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dualrank"
MODULES = sorted(SRC.rglob("*.py"))


def _units(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_functions_and_classes_stay_small(path):
    lines = path.read_text().count("\n")
    assert lines <= 400, f"{path}: {lines} lines (limit 400): split it by job"
    for node, n in _units(path):
        limit = 150 if isinstance(node, ast.ClassDef) else 80
        assert n <= limit, f"{path}:{node.lineno}: {node.name} is {n} lines (limit {limit})"


def test_the_top_level_has_at_most_twelve_entries():
    entries = sorted(p.name for p in SRC.iterdir()
                     if p.name != "__init__.py" and p.name != "__pycache__" and not p.name.endswith(".egg-info"))
    assert len(entries) <= 12, entries


def test_library_modules_have_no_command_line_of_their_own():
    # Commands live in dualrank.cli (one thin module each); the library is imported, not run.
    for path in MODULES:
        if "cli" in path.relative_to(SRC).parts:
            continue
        text = path.read_text()
        assert "__main__" not in text and "argparse" not in text, f"{path}: move its command line to dualrank/cli"
