"""Every `snakemake ...` command that README.md and docs/*.md show runs as typed: each is
dry-run (`-n` added) on a copy of the workflow, after the files the README's own lines create
(`printf ... > gpus.yaml`), and must exit 0; Snakemake's own parser must read its targets as
the ones typed after `--`. A `--report FILE` line is dry-run without its `--report FILE` (a
report needs the results) and its report path checked by the parser.

Commands are the lines of indented or shell-tagged code blocks (a segment of `a && b` whose
first word, after `VAR=value`s, is snakemake) and inline code spans holding ` -- `. Untagged
fenced blocks are program output (docs/benchmark.md's tables), not commands.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, copy_workflow

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_TAGS = {"sh", "bash", "shell", "console"}


def code_lines(text: str):
    """(line number, line) of every line of an indented or shell-tagged code block, with
    backslash continuations joined."""
    fence, prev_blank, in_indent, pending = None, True, False, None
    for no, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip()[3:].strip()
            continue
        indented = line.startswith("    ") and (prev_blank or in_indent) and fence is None
        in_indent = indented or (in_indent and not line.strip())
        prev_blank = not line.strip()
        if not (indented or (fence is not None and fence in SHELL_TAGS)):
            continue
        body = line.strip()
        pending = (pending[0], pending[1] + " " + body) if pending else (no, body)
        if body.endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
            continue
        yield pending
        pending = None


def snakemake_commands(path: Path) -> list[tuple[str, str]]:
    """(where, command) of every snakemake command in a Markdown file."""
    text, out = path.read_text(), []
    for no, line in code_lines(text):
        for segment in re.split(r"&&|;", line):
            if re.match(r"\s*([A-Z_]+=\S*\s+)*snakemake\s", segment):
                out.append((f"{path.name}:{no}", segment.strip()))
    for m in re.finditer(r"`(snakemake [^`]* -- [^`]*)`", text):
        out.append((f"{path.name}:{text[:m.start()].count(chr(10)) + 1}", m[1]))
    return out


def overlay_lines(path: Path) -> list[str]:
    """The README's own lines that write a file the commands read (`printf ... > x.yaml`)."""
    return [line for _, line in code_lines(path.read_text()) if re.match(r"printf .*> *\S+\.ya?ml$", line)]


COMMANDS = list({c: (w, c) for path in reversed(DOCS) for w, c in reversed(snakemake_commands(path))}.values())[::-1]


def test_the_docs_show_the_commands_this_test_runs():
    typed = [c for _, c in COMMANDS]
    # The quick start, the paper command (the mission's, target after --) and a profile line.
    assert "snakemake --cores 2 --configfile=workflow/presets/demo.yaml -- results/table1.csv" in typed
    assert "snakemake --cores 8 --resources gpu=1 -- results/table1.csv" in typed
    assert any("--workflow-profile workflow/profiles/slurm" in c for c in typed) and len(typed) >= 15


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    d = copy_workflow(tmp_path_factory.mktemp("clone"))
    shutil.copytree(ROOT / "tests/presets", d / "tests/presets")  # as in a clone: the CI overlays
    for path in DOCS:
        for line in overlay_lines(path):
            subprocess.run(["bash", "-c", line], cwd=d, check=True)
    return d


def dry_run_argv(command: str) -> tuple[dict, list[str], str | None]:
    """(environment additions, snakemake's arguments with -n and without --report FILE, FILE)."""
    words = shlex.split(command, comments=True)
    env = {}
    while re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    args, report = words[1:], None
    if "--report" in args:
        i = args.index("--report")
        report = args[i + 1]
        args = args[:i] + args[i + 2:]
    return env, args if "-n" in args else ["-n", *args], report


@pytest.mark.timeout(600)
@pytest.mark.parametrize("where, command", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_each_command_runs_as_typed(clone, where, command, monkeypatch):
    from snakemake.cli import parse_args

    env, args, report = dry_run_argv(command)
    typed = shlex.split(command, comments=True)
    expected = typed[typed.index("--") + 1:] if "--" in typed else []
    monkeypatch.chdir(clone)
    _, parsed = parse_args(shlex.split(command, comments=True)[len(env) + 1:])
    assert list(parsed.targets) == expected, f"{where}: Snakemake reads the targets as {parsed.targets}"
    assert str(parsed.report) == report if report else True
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=clone, capture_output=True, text=True,
                          env={**os.environ, **env})
    assert proc.returncode == 0, f"{where}: {command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "dualrank: config in effect" in proc.stdout + proc.stderr
    if args == ["-n", "--", "results/table1.csv"] or args == ["-n", "--", "results/all"]:
        total = int(re.search(r"^total\s+(\d+)$", proc.stdout, re.M)[1])
        readme = (ROOT / "README.md").read_text()
        claim = r"lists\s+the\s+(\d+)\s+jobs\s+of\s+Table\s+1" if args[-1].endswith("csv") else \
            r"dry\s+run\s+of\s+`results/all`\s+lists\s+(\d+)\s+jobs"
        assert int(re.search(claim, readme)[1]) == total, f"README's job count for {args[-1]}: the dry run has {total}"


CONFIGS = [ROOT / "config.yaml", *sorted(ROOT.glob("workflow/presets/*.yaml")),
           *sorted(ROOT.glob("tests/presets/*.yaml")), *sorted(ROOT.glob("workflow/profiles/*/config.yaml")),
           *sorted(ROOT.glob("profiles/*/config.yaml"))]


def comment_commands(path: Path) -> list[tuple[str, str]]:
    """(where, command) of every `# snakemake ...` line of a config file's comments."""
    out, pending = [], None
    for no, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"#\s*(?:\w+:\s*)?((?:[A-Z_]+=\S*\s+)*snakemake\s.*)", line)
        body = m[1] if m else (line.lstrip("#").strip() if pending else None)
        if body is None:
            continue
        pending = (pending[0], f"{pending[1]} {body}") if pending else (f"{path.relative_to(ROOT)}:{no}", body)
        if body.endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
            continue
        out.append(pending)
        pending = None
    return out


COMMENTED = [c for path in CONFIGS for c in comment_commands(path)]


@pytest.mark.parametrize("where, command", COMMENTED, ids=[w for w, _ in COMMENTED])
def test_config_comments_commands_read_their_targets_as_typed(clone, where, command, monkeypatch):
    """The commands in config comments (placeholders TARGET and ... allowed) parse as typed:
    targets after --, the files after one --configfile; the README's own are dry-run above."""
    from snakemake.cli import parse_args

    words = [w for w in shlex.split(command.split("  #")[0]) if w != "..."]
    while re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words.pop(0)
    monkeypatch.chdir(clone)
    _, parsed = parse_args(words[1:])
    assert list(parsed.targets) == (words[words.index("--") + 1:] if "--" in words else []), where
    if parsed.configfile:
        assert all(Path(f).is_file() for f in parsed.configfile), f"{where}: {parsed.configfile}"
