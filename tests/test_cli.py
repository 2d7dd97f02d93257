"""The stage commands' command lines: each command's --help, and the bridge that builds them from
dataclasses (dualrank.cli.args)."""

import argparse
import dataclasses
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dualrank import cli
from dualrank.cli import args
from dualrank.cli.args import UsageError, option, parse

ROOT = Path(__file__).resolve().parents[1]


def flags(p: argparse.ArgumentParser):
    """(parser, action) of every flag and positional argument, sub-modes' included."""
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                yield from flags(sub)
        elif not isinstance(a, argparse._HelpAction):
            yield p, a


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help_for_every_flag(command, monkeypatch, capsys):
    built = []
    real = args.parser
    monkeypatch.setattr(args, "parser", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: dualrank {command}")
    found = list(flags(built[-1]))
    assert found
    for p, a in found:
        assert p.prog.startswith(f"dualrank {command}")
        assert a.help and a.help.strip(), f"{p.prog} {a.option_strings or a.dest}: no help"


def test_help_imports_no_torch():
    # --help answers at once: torch is imported only after parsing.
    code = ("import contextlib, io, sys\nfrom dualrank import cli\nfor c in cli.COMMANDS:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n            cli.main([c, '--help'])\n"
            "        except SystemExit:\n            pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"


@dataclass(frozen=True)
class Toy:
    """a toy command"""

    corpus: Path = option("the corpus")
    k: int = option("hits per query", 10)
    rate: float = option("a rate", 0.5)
    name: str | None = option("a name (default: none)", None)
    fast: bool = option("go fast", False)
    tag: list[str] = option("a tag (repeatable)", [])
    kind: str = option("which kind", "a", choices=["a", "b"])


@dataclass(frozen=True)
class Seeded:
    """a second dataclass"""

    seed: int = option("the seed", 0)

    def __post_init__(self):
        if self.seed < 0:
            raise UsageError(f"--seed must be >= 0, got {self.seed}")


DOC = """A toy command.

    dualrank toy --corpus C   (kept as written)
"""


def test_flags_take_the_fields_types_and_defaults():
    t = parse(Toy, ["--corpus", "c.parquet", "--k", "3", "--rate", "1e-2", "--name", "x", "--fast",
                    "--tag", "p", "--tag", "q", "--kind", "b"], "toy", DOC)
    assert t == Toy(corpus=Path("c.parquet"), k=3, rate=0.01, name="x", fast=True, tag=["p", "q"], kind="b")
    assert isinstance(t.corpus, Path) and isinstance(t.k, int) and isinstance(t.rate, float)
    d = parse(Toy, ["--corpus", "c.parquet"], "toy", DOC)
    assert (d.k, d.rate, d.name, d.fast, d.tag, d.kind) == (10, 0.5, None, False, [], "a")
    assert d.tag is not parse(Toy, ["--corpus", "c"], "toy", DOC).tag  # no shared mutable default


@pytest.mark.parametrize("argv, says", [
    ([], "the following arguments are required: --corpus"),
    (["--corpus", "c", "--k", "many"], "argument --k: invalid int value: 'many'"),
    (["--corpus", "c", "--kind", "z"], "argument --kind: invalid choice: 'z'"),
    (["--corpus", "c", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_flags_exit_2_naming_the_flag(argv, says, capsys):
    with pytest.raises(SystemExit) as e:
        parse(Toy, argv, "toy", DOC)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dualrank toy") and says in err


def test_help_shows_usage_description_and_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        parse(Toy, ["--help"], "toy", DOC)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dualrank toy [-h] --corpus CORPUS [--k K]")  # required flags first
    assert "    dualrank toy --corpus C   (kept as written)" in out
    assert "hits per query (default: 10)" in out and "a rate (default: 0.5)" in out
    assert "(default: a)" in out
    # No default shown for a switch, an empty list or None; a help that names its default keeps it.
    assert "go fast\n" in out and "a tag (repeatable)\n" in out
    assert "a name (default: none)\n" in out


def test_several_dataclasses_and_modes():
    toy, seeded = parse((Toy, Seeded), ["--corpus", "c", "--seed", "3"], "toy", DOC)
    assert (toy.corpus, seeded) == (Path("c"), Seeded(3))
    assert parse({"one": Toy, "two": Seeded}, ["two", "--seed", "4"], "toy", DOC) == ("two", Seeded(4))
    mode, (toy, seeded) = parse({"both": (Toy, Seeded)}, ["both", "--corpus", "c"], "toy", DOC)
    assert (mode, seeded.seed) == ("both", 0)


def test_modes_are_required_and_have_their_own_usage(capsys):
    with pytest.raises(SystemExit) as e:
        parse({"one": Toy, "two": Seeded}, [], "toy", DOC)
    assert e.value.code == 2 and "required: {one,two}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse({"one": Toy, "two": Seeded}, ["two", "--help"], "toy", DOC)
    out = capsys.readouterr().out
    assert out.startswith("usage: dualrank toy two") and "a second dataclass" in out


def test_a_usage_error_of_the_dataclass_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        parse(Seeded, ["--seed", "-1"], "toy", DOC)
    assert e.value.code == 2
    assert "dualrank toy: error: --seed must be >= 0, got -1" in capsys.readouterr().err


def test_positional_arguments():
    @dataclass(frozen=True)
    class Convert:
        kind: str = option("the format", positional=True, choices=["tsv", "trec"])
        source: Path = option("the input file", positional=True)
        rest: list[str] = option("the rest", positional=True, nargs=argparse.REMAINDER)

    assert parse(Convert, ["trec", "in.txt", "x", "--y"], "toy", DOC) == Convert("trec", Path("in.txt"), ["x", "--y"])


def test_a_flag_needs_help_and_a_switch_is_off_by_default():
    @dataclass(frozen=True)
    class NoHelp:
        k: int = dataclasses.field(default=1)

    @dataclass(frozen=True)
    class OnSwitch:
        fast: bool = option("go fast", True)

    for kind in (NoHelp, OnSwitch):
        with pytest.raises(TypeError):
            parse(kind, [], "toy", DOC)


def test_dualrank_help_lists_every_stage_command_and_the_snakemake_targets(capsys):
    modules = {p.stem.replace("_", "-") for p in (ROOT / "src/dualrank/cli").glob("*.py")
               if "\ndef main(" in p.read_text()}
    assert modules - {"--init--"} == set(cli.COMMANDS)
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n  {c} " in out for c in cli.COMMANDS)
    for target in ("results/table1.csv", "results/table12.csv", "results/figure8.png", "results/all",
                   "--report results/report.html"):
        assert target in out.replace("\n", " "), target
