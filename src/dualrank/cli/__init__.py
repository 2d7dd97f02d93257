"""The ``dualrank`` command line: a registry of subcommands.

A subcommand is registered with the :func:`command` decorator::

    from dualrank.cli import command

    def _args(p):                      # adds the subcommand's arguments to its parser
        p.add_argument("--config", required=True)

    @command("train", "train one model", _args)
    def train_cmd(args) -> int | None:  # returns the exit code (None means 0)
        return run_training(args.config)

Modules that define subcommands are listed in :data:`COMMAND_MODULES` and imported when
:func:`main` builds the parser (so a module's decorators run without ``cli`` importing it
at the top, and heavy imports stay out of the other subcommands' start-up).

Every subcommand turns :class:`~dualrank.data.io.InputError` into a one-line message on stderr
and exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dualrank.data.io import InputError

EXIT_INPUT_ERROR = 2


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]


#: name -> Command; filled by :func:`command`.
COMMANDS: dict[str, Command] = {}

#: Modules imported by :func:`main` so that their ``@command`` registrations run.
COMMAND_MODULES: list[str] = []


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None
) -> Callable[[Callable[[argparse.Namespace], int | None]], Callable]:
    """Register the decorated ``run(args)`` function as subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace], int | None]):
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return register


# --------------------------------------------------------------------------------------------
# evaluate


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--run", required=True, type=Path,
        help="run: TREC 'qid Q0 docid rank score tag', MS MARCO 'qid pid rank', or .parquet",
    )
    p.add_argument(
        "--qrels", required=True, type=Path,
        help="qrels: TREC 'qid iter docid rel' (space or tab separated) or .parquet",
    )
    p.add_argument(
        "--rel-level", type=int, default=1,
        help="minimum grade counted relevant for MRR@10 (1 for MS MARCO, 2 for TREC DL); "
        "nDCG@10 always uses the graded labels (default: 1)",
    )
    p.add_argument(
        "--per-query", type=Path, default=None,
        help="also write the per-query values here (.parquet, else tab-separated text)",
    )


@command("evaluate", "MRR@10 and nDCG@10 of a run (JSON on stdout)", _evaluate_args)
def evaluate_cmd(args: argparse.Namespace) -> int:
    from dualrank.data import contracts
    from dualrank.retrieval import metrics
    from dualrank.data import readers

    run = readers.load(args.run, "run")
    qrels = readers.load(args.qrels, "qrels")
    aggregate, per_query = metrics.evaluate(
        run, qrels, args.rel_level, run_name=str(args.run), qrels_name=str(args.qrels)
    )
    if args.per_query is not None:
        out, tmp = contracts.atomic_path(args.per_query)
        try:
            if out.suffix == ".parquet":
                per_query.to_parquet(tmp, index=False)
            else:
                per_query.to_csv(tmp, sep="\t", index=False)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    print(json.dumps(aggregate))
    return 0


# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        prog="dualrank",
        description="Reproduction of Menon et al. (ICML 2022), "
        "'In defense of dual-encoders for neural ranking'.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(COMMANDS):
        cmd = COMMANDS[name]
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_command=cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cmd: Command = args._command
    try:
        code = cmd.run(args)
    except InputError as e:
        print(f"dualrank {cmd.name}: error: {e}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return 0 if code is None else int(code)


if __name__ == "__main__":
    sys.exit(main())
