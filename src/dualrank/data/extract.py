"""Members of a downloaded tar archive, or a decompressed .gz/.bz2/.xz file, each to its path.

The command line is ``dualrank extract --archive A.tar.gz --member NAME --out PATH [--md5 HEX]``,
or without ``--member`` for a plain compressed file (:mod:`dualrank.cli.extract`).

A member of a tar (plain, .gz, .bz2 or .xz; read sequentially, so an 8 GB archive is never
seeked or held in memory) is streamed to a temporary file beside its path and renamed into
place; several members can be taken in one pass. A member is matched by its path in the
archive (a leading ``./`` is ignored) or, when the name has no ``/``, by its base name.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import logging
import lzma
import os
import tarfile
import zlib
from pathlib import Path

from dualrank.data.download import CHUNK, MB, Progress, check_md5
from dualrank.data.io import InputError, atomic_output

log = logging.getLogger("dualrank.data.extract")


def _member_matches(name: str, wanted: str) -> bool:
    norm = name.removeprefix("./")
    wanted = wanted.removeprefix("./")
    return norm == wanted or ("/" not in wanted and norm.rsplit("/", 1)[-1] == wanted)


def _copy_to(src, out: Path, what: str, md5: str | None, progress_every: float,
             total: int | None = None) -> Path:
    """Stream ``src`` to ``out`` atomically; check ``md5``."""
    h = hashlib.md5()
    done = 0
    progress = Progress(what, progress_every, total)
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as f:
            while block := src.read(CHUNK):
                f.write(block)
                h.update(block)
                done += len(block)
                progress.update(done)
        if md5 is not None and h.hexdigest() != md5:
            raise InputError(f"{what}: md5 mismatch: expected {md5}, got {h.hexdigest()} "
                             f"({done} bytes); nothing written to {out}")
    progress.update(done, force=True)
    log.info("%s -> %s (%.1f MB, md5 %s)", what, out, done / MB, h.hexdigest())
    return out


_MAGIC = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}


def decompress(archive: str | os.PathLike, out: str | os.PathLike, md5: str | None = None,
               progress_every: float = 10.0) -> Path:
    """Decompress a single .gz/.bz2/.xz file to ``out`` atomically."""
    archive = Path(archive)
    if not archive.is_file():
        raise InputError(f"{archive}: no such file")
    with open(archive, "rb") as f:
        head = f.read(6)
    opener = next((op for magic, op in _MAGIC.items() if head.startswith(magic)), None)
    if opener is None:
        raise InputError(f"{archive}: not a gzip, bzip2 or xz file (give --member for a tar)")
    try:
        with opener(archive, "rb") as src:
            return _copy_to(src, Path(out), str(archive), check_md5(md5, str(archive)),
                            progress_every)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise InputError(f"{archive}: corrupt or truncated compressed file: {e}") from None


def extract(archive: str | os.PathLike, members: dict[str, str | os.PathLike],
            md5s: dict[str, str | None] | None = None, progress_every: float = 10.0
            ) -> dict[str, Path]:
    """Stream the named ``members`` of a tar(.gz/.bz2/.xz) ``archive`` to their paths.

    ``members`` maps a member name to its output path; ``md5s`` optionally maps a member name
    to the expected MD5 of its content. One sequential pass over the archive.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise InputError(f"{archive}: no such file")
    md5s = {k: check_md5(v, f"{archive}:{k}") for k, v in (md5s or {}).items()}
    pending = dict(members)
    done: dict[str, Path] = {}
    seen: list[str] = []
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for ti in tar:
                seen.append(ti.name)
                hit = next((m for m in pending if _member_matches(ti.name, m)), None)
                if hit is None:
                    continue
                if not ti.isfile():
                    raise InputError(f"{archive}: member {ti.name!r} is not a regular file")
                src = tar.extractfile(ti)
                done[hit] = _copy_to(src, Path(pending.pop(hit)), f"{archive}:{ti.name}",
                                     md5s.get(hit), progress_every, ti.size)
                if not pending:
                    break
    except tarfile.ReadError as e:
        raise InputError(f"{archive}: not a readable tar archive ({e})") from None
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as e:
        raise InputError(f"{archive}: cannot extract (corrupt or truncated archive?): {e}") from None
    if pending:
        shown = ", ".join(seen[:20]) + (f", ... ({len(seen)} in all)" if len(seen) > 20 else "")
        raise InputError(f"{archive}: no member {sorted(pending)} in the archive "
                         f"(members: {shown or 'none'})")
    return done


def extract_files(archive: str | os.PathLike, members: list[str], outs: list[str | os.PathLike],
                  md5s: list[str | None] | None = None, progress_every: float = 10.0) -> None:
    """``members[i]`` of ``archive`` to ``outs[i]`` (with MD5 ``md5s[i]`` when given); with no
    member, the archive is a single compressed file, decompressed to the one ``outs[0]``."""
    if md5s and len(md5s) != len(outs):
        raise InputError(f"{archive}: {len(md5s)} --md5 for {len(outs)} --out")
    if not members:
        if len(outs) != 1:
            raise InputError(f"{archive}: decompression takes one --out (got {len(outs)})")
        decompress(archive, outs[0], md5s[0] if md5s else None, progress_every)
        return
    if len(members) != len(outs):
        raise InputError(f"{archive}: {len(members)} --member for {len(outs)} --out")
    if len(set(members)) != len(members):
        raise InputError(f"{archive}: a --member is repeated: {members}")
    extract(archive, dict(zip(members, outs)), dict(zip(members, md5s)) if md5s else None,
            progress_every)
