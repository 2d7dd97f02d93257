import os
import shutil
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


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A copy of the workflow (Snakefile, config, workflow/, envs/) in a temporary directory."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("workflow", "envs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path
