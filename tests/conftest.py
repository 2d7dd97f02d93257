import faulthandler
import io
import os
import shutil
import signal
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DUALRANK_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
# For tests that read the real samples at import time (module-level paths).
needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present (set DUALRANK_SHARED)")
STDERR = pytest.StashKey[int]()  # the terminal's stderr, for stack dumps


def pytest_configure(config):
    # SIGTERM (CI's outer `timeout`, a cluster's scancel) prints every thread's stack, then ends
    # the run as before (chain: the default action). Written to the terminal's stderr, which
    # output capture leaves alone (capture is suspended while pytest_configure runs).
    config.stash[STDERR] = os.dup(sys.stderr.fileno())
    faulthandler.register(signal.SIGTERM, file=config.stash[STDERR], all_threads=True, chain=True)


def pytest_unconfigure(config):
    faulthandler.unregister(signal.SIGTERM)
    os.close(config.stash[STDERR])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # faulthandler_timeout is one number for every test; a test with its own, longer limit
    # (@pytest.mark.timeout(N)) gets its stacks printed as long before N as the default before
    # `timeout`, not at faulthandler_timeout while it is still working.
    marker = item.get_closest_marker("timeout")
    dump_at = float(item.config.getini("faulthandler_timeout") or 0)
    if marker and marker.args and dump_at > 0 and item.config.pluginmanager.hasplugin("timeout"):
        lead = float(item.config.getini("timeout")) - dump_at
        faulthandler.dump_traceback_later(float(marker.args[0]) - lead, file=item.config.stash[STDERR])


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    # signal.signal(SIGTERM, ...) in a test (an in-process training) replaces the stack dump's
    # handler; once the default is back, so is the dump.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        faulthandler.unregister(signal.SIGTERM)
        faulthandler.register(signal.SIGTERM, file=item.config.stash[STDERR], all_threads=True, chain=True)


@pytest.fixture
def shared_data() -> Path:
    path = SHARED_DATA
    if not path.exists():
        pytest.skip(f"{path} not present (set DUALRANK_SHARED)")
    return path


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (Snakefile, config, workflow/, envs/, the default profile) in dest."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("workflow", "envs", "profiles"):
        shutil.copytree(ROOT / name, dest / name)
    return dest


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A copy of the workflow in a temporary directory."""
    return copy_workflow(tmp_path)


def write_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz", dirs: tuple[str, ...] = ()) -> Path:
    """A tar archive holding ``files`` (name -> bytes), after directory entries ``dirs``."""
    with tarfile.open(path, mode) as tar:
        for name in dirs:
            d = tarfile.TarInfo(name)
            d.type = tarfile.DIRTYPE
            tar.addfile(d)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
