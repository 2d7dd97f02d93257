"""atomic_output: the one way every stage writes an output."""

import os

import pytest

from dualrank.data.io import atomic_output, write_text


def test_a_file_appears_only_when_complete(tmp_path):
    out = tmp_path / "sub" / "out.txt"
    with atomic_output(out) as tmp:
        tmp.write_text("new")
        assert not out.exists() and tmp.parent == out.parent
    assert out.read_text() == "new"
    assert os.listdir(out.parent) == ["out.txt"]
    assert out.stat().st_mode & 0o044  # readable by others under the usual umask, not mkstemp's 0600


def test_a_failed_write_keeps_the_old_output_and_leaves_no_temporary(tmp_path):
    out = write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_output(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert out.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_folder_replaces_the_old_folder_whole(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "stale.bin").write_text("x")
    with atomic_output(out, directory=True) as tmp:
        (tmp / "weights").write_text("w")
    assert sorted(os.listdir(out)) == ["weights"]
    assert os.listdir(tmp_path) == ["model"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(out, directory=True) as tmp:
            (tmp / "weights").write_text("half")
            raise KeyboardInterrupt
    assert (out / "weights").read_text() == "w" and os.listdir(tmp_path) == ["model"]
