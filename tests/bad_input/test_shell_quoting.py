"""No config value reaches a shell unquoted (issue 14, item 1).

Every ``{...}`` placeholder in a rule's shell command carries ``:q`` (Snakemake's shell quoting;
an optional flag is an argument list, quoted element by element, empty when absent). With a
``data_dir`` and a ``results_dir`` holding spaces, ``$()``, backquotes, ``;`` and ``&`` (paths may
hold any of them; names may not, the schema refuses them: test_config_cases.py), ``snakemake -n
-p`` prints every command with those paths quoted, and a real job writes its tables under such
a ``data_dir`` while no injected command runs.
"""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "workflow/rules").glob("*.smk"))
PRESETS = ["workflow/presets/demo.yaml", "tests/presets/ci.yaml"]


def shell_sections(path: Path) -> list[list[str]]:
    """The string literals of each ``shell:`` section of a rule file, section by section."""
    out, inside = [], False
    for line in path.read_text().splitlines():
        s = line.strip()
        if s == "shell:":
            inside = True
            out.append([])
        elif inside and s[:1] in ('"', "'"):
            out[-1].append(s)
        elif inside and s.startswith("#"):
            continue
        else:
            inside = False
    return out


def test_the_scan_reads_every_rule_s_command():
    # One command per rule that has one: the scan misses no section and no section is empty.
    sections = [s for p in RULES for s in shell_sections(p)]
    assert len(sections) == sum(p.read_text().count("    shell:") for p in RULES) >= 20
    assert all(s and s[0].startswith(('"dualrank ', '"printf ')) for s in sections), sections


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.name)
def test_every_placeholder_in_a_shell_command_is_quoted(path):
    # No allow-list: even {threads} and {resources.gpu} (integers) carry :q.
    unquoted = [field for section in shell_sections(path) for s in section
                for field in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", s) if not field.endswith(":q")]
    assert not unquoted, f"{path.name}: placeholders without :q: {unquoted}"


HOSTILE = {"data_dir": "{tmp}/my data $(touch PWNED1) `touch PWNED2`",
           "results_dir": "{tmp}/my results; touch PWNED3 & echo"}


@pytest.fixture
def hostile(tmp_path):
    """A copy of the workflow, an overlay with hostile paths and those paths."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("workflow", "envs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "tests/presets").mkdir(parents=True)
    shutil.copy(ROOT / "tests/presets/ci.yaml", tmp_path / "tests/presets/ci.yaml")
    paths = {k: v.replace("{tmp}", str(tmp_path / "out")) for k, v in HOSTILE.items()}
    (tmp_path / "hostile.yaml").write_text("".join(f"{k}: '{v}'\n" for k, v in paths.items()))
    return tmp_path, paths


def snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # The target before --configfile, which takes every word after it.
    return subprocess.run([sys.executable, "-m", "snakemake", *args, "--configfile", *PRESETS, "hostile.yaml"],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def unquoted(cmd: str) -> str:
    """The characters of ``cmd`` that bash may expand: all but those in '...' or escaped by a
    backslash (inside "...", $( and ` still act, so those characters are kept)."""
    out, quote, i = [], None, 0
    while i < len(cmd):
        c = cmd[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 1
        elif c == '"':
            quote = None if quote == '"' else '"'
        elif c == "'" and quote is None:
            quote = c
        else:
            out.append(c)
        i += 1
    return "".join(out)


def test_unquoted_keeps_only_what_the_shell_reads_bare():
    assert unquoted("""a 'b $(x)' "$(c)" 'it'"'"'s' d\\ e""") == "a  $(c) ' de"


def no_injection(tmp: Path) -> None:
    assert not list(tmp.rglob("PWNED*")) and not list(ROOT.glob("PWNED*"))


def test_a_dry_run_prints_every_command_with_hostile_paths_quoted(hostile):
    tmp, paths = hostile
    proc = snakemake(tmp, "-n", "-p", f"{paths['results_dir']}/all")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    commands = re.findall(r"^Shell command: (.*)$", out, re.M)
    rules = set(re.findall(r"^(?:local)?rule (\w+):", out, re.M))
    assert len(commands) > 100 and {"train", "evaluate", "index", "groups", "bm25_run", "table"} <= rules
    for cmd in commands:
        for w in shlex.split(cmd):  # as the shell splits it: each hostile path stays whole, one word
            if any(v in w for v in paths.values()):
                assert w.startswith(tuple(paths.values())) or w.startswith(("[", "{")), (w, cmd)
        # Outside single quotes no metacharacter of the paths is left to act.
        bare = unquoted(cmd)
        assert "$(" not in bare and "`" not in bare and "; touch" not in bare and " my " not in bare, cmd
    assert any("--tokenizer '" in c for c in commands) and any("--index '" in c for c in commands)
    assert not (tmp / "out").exists()
    no_injection(tmp)


def test_a_job_writes_under_a_data_dir_with_spaces_and_runs_nothing_injected(hostile):
    tmp, paths = hostile
    corpus = f"{paths['data_dir']}/msmarco/corpus.parquet"
    proc = snakemake(tmp, "--cores", "1", corpus)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    written = sorted(p.name for p in Path(corpus).parent.iterdir())
    assert "corpus.parquet" in written and "queries-dev.parquet" in written and "qrels-train.parquet" in written
    no_injection(tmp)
