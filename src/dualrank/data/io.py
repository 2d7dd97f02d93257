"""Input errors and atomic outputs: what every stage shares about reading and writing files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class InputError(ValueError):
    """Bad input: a malformed file, a missing id, a bad config value.

    The message always names the file (and line) or the config key at fault.
    """


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it becomes ``path``.

    The temporary lives on the same filesystem, so the final rename is atomic: ``path`` is at
    every moment the old output or the new one, never a partial one, and on an exception the
    temporary is removed and the old output stays. With ``directory=True`` the temporary is a
    folder; an old folder at ``path`` is renamed aside first and removed after the new one is
    in place (a folder cannot be renamed onto another). Files are synced before the rename,
    so a crash right after it cannot leave an empty file; both get the usual umask-based mode
    (mkstemp's 0600 would hide shared results from other users). An output that cannot be
    written (a read-only directory, a folder where a file should go) raises InputError naming
    the path, before the body runs where possible.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        else:
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a directory")
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            tmp = Path(name)
    except OSError as e:
        raise _unwritable(path, e) from None
    try:
        yield tmp
        try:
            if directory:
                os.chmod(tmp, 0o777 & ~_umask())
                _replace_dir(tmp, path)
            else:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o666 & ~_umask())
                os.replace(tmp, path)
        except OSError as e:
            raise _unwritable(path, e) from None
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _unwritable(path: Path, e: OSError) -> InputError:
    where = f": {e.filename}" if e.filename and e.strerror else ""
    return InputError(f"{path}: cannot write this output ({e.strerror or e}{where})")


def _replace_dir(tmp: Path, final: Path) -> None:
    old = None
    if final.exists() or final.is_symlink():
        if not final.is_dir() or final.is_symlink():
            final.unlink()
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.rename(final, old / final.name)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``text`` to ``path``, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress(done: int, remaining: int, seconds: float, unit: str) -> str:
    """``2.10 steps/s, elapsed 0:00:06, ETA 0:03:05``: how fast a long job goes (``done`` in
    ``seconds``) and, at that pace, when its ``remaining`` units end."""
    rate = done / seconds if seconds > 0 else 0.0
    eta = _clock(remaining / rate) if rate > 0 else "unknown"
    return f"{rate:.2f} {unit}/s, elapsed {_clock(seconds)}, ETA {eta}"
