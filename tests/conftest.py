import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DUALRANK_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
# For tests that read the real samples at import time (module-level paths).
needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} not present (set DUALRANK_SHARED)")


@pytest.fixture
def shared_data() -> Path:
    path = SHARED_DATA
    if not path.exists():
        pytest.skip(f"{path} not present (set DUALRANK_SHARED)")
    return path


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (Snakefile, config, workflow/, envs/) in dest."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("workflow", "envs"):
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
