"""A stage command's flags declared as a dataclass, parsed into an instance of it.

Each command declares its arguments as a frozen dataclass (or takes the library's own, such as
:class:`dualrank.spec.TrainJob`) and :func:`parse` builds the argparse parser from the fields,
as tevatron's ``driver/`` mains do with their argument dataclasses:

- field ``queries_dev`` is the flag ``--queries-dev`` (a positional argument with
  ``positional=True``);
- the annotation is its type: ``str``, ``int``, ``float``, ``Path``; ``X | None`` is ``X``
  (``str | Path`` is ``str``); ``bool`` is a switch, off by default; ``list[X]`` a repeatable
  flag (or one taking several values with ``nargs=``);
- a field without a default is a required flag;
- ``metadata["help"]`` is its help (:func:`option` puts it there), followed by the default.

In ``--help`` the required flags come first, then the others, each in declaration order.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import MISSING
from typing import Any, Union

#: A command's arguments: one dataclass, several (parsed side by side into a tuple), or one of
#: those per sub-mode (``dualrank candidates pairs|mix``), picked by the first word.
Kinds = Union[type, tuple[type, ...], dict[str, Union[type, tuple[type, ...]]]]


class UsageError(ValueError):
    """Raised by an argument dataclass's ``__post_init__`` for flags that do not fit together:
    :func:`parse` prints it under the usage and exits with code 2, as for a missing flag."""


def option(help: str, default: Any = MISSING, *, positional: bool = False, **argparse_keywords) -> Any:
    """A dataclass field that is a flag: its help, its default (none: the flag is required) and
    any further ``add_argument`` keywords (``choices``, ``metavar``, ``nargs``)."""
    metadata = {"help": help, "positional": positional, "argparse": argparse_keywords}
    if isinstance(default, list):  # mutable: each instance gets its own copy
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def parser(kinds: Kinds, command: str, doc: str | None, usage: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``dualrank COMMAND``; its description is the command module's docstring."""
    p = _new(f"dualrank {command}", doc, usage)
    if not isinstance(kinds, dict):
        _add_all(p, kinds)
        return p
    modes = p.add_subparsers(dest="mode", required=True, metavar="{" + ",".join(kinds) + "}")
    for mode, mode_kinds in kinds.items():
        summary = (_tuple(mode_kinds)[0].__doc__ or "").strip().splitlines()[0]
        _add_all(modes.add_parser(mode, help=summary, description=summary,
                                  formatter_class=argparse.RawDescriptionHelpFormatter), mode_kinds)
    return p


def parse(kinds: Kinds, argv: list[str] | None, command: str, doc: str | None, usage: str | None = None) -> Any:
    """``argv`` (default: ``sys.argv[1:]``) as an instance of ``kinds``, a tuple of instances for
    a tuple of kinds, and ``(mode, instance or tuple)`` for sub-modes. Bad flags (and a
    :class:`UsageError`) print the usage and exit with code 2."""
    p = parser(kinds, command, doc, usage)
    namespace = p.parse_args(argv)
    try:
        if isinstance(kinds, dict):
            return namespace.mode, _instances(kinds[namespace.mode], namespace)
        return _instances(kinds, namespace)
    except UsageError as e:
        p.error(str(e))


def _new(prog: str, doc: str | None, usage: str | None) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=doc, usage=usage,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _tuple(kinds) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _instances(kinds, namespace: argparse.Namespace):
    made = tuple(k(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(k)}) for k in _tuple(kinds))
    return made if isinstance(kinds, tuple) else made[0]


def _add_all(p: argparse.ArgumentParser, kinds) -> None:
    fields = []
    for kind in _tuple(kinds):
        hints = typing.get_type_hints(kind)
        fields += [(f, hints[f.name]) for f in dataclasses.fields(kind)]
    for f, hint in sorted(fields, key=lambda fh: _default(fh[0]) is not MISSING):  # required first
        name = f.name if f.metadata.get("positional") else "--" + f.name.replace("_", "-")
        p.add_argument(name, **_keywords(f, hint))


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.default


def _keywords(f: dataclasses.Field, hint) -> dict[str, Any]:
    if not f.metadata.get("help"):
        raise TypeError(f"flag {f.name}: no help (declare it with dualrank.cli.args.option)")
    kw = dict(f.metadata.get("argparse", {}))
    default = _default(f)
    kw["help"] = f.metadata["help"] + _shown(default, f.metadata["help"])
    value_type, many = _value_type(hint)
    if value_type is bool:
        if default is not False:
            raise TypeError(f"flag {f.name}: a switch (bool) is off by default: give it default False")
        kw["action"] = "store_true"
    else:
        kw["type"] = value_type
        if many and "nargs" not in kw:
            kw["action"] = "append"
    if f.metadata.get("positional"):
        if default is not MISSING:
            kw.update(nargs=kw.get("nargs", "?"), default=default)
    elif value_type is not bool:
        kw.update(required=default is MISSING, default=None if default is MISSING else default)
    return kw


def _shown(default: Any, help: str) -> str:
    """The default, for the help (argparse fills in %(default)s); none for a missing, empty or
    off one, nor where the help already says what the default is."""
    if default is MISSING or default is None or default is False or default == [] or "default" in help:
        return ""
    return " (default: %(default)s)"


def _value_type(hint) -> tuple[type, bool]:
    """(the type of one value, whether the flag holds a list) of an annotation."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return hint, False
