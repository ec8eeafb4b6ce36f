"""Replacing a file or a folder: the new one whole, or the old one untouched and nothing beside."""

from __future__ import annotations

import pytest

from runtime.files import replacing, write_atomic


def test_a_file_is_replaced_whole_and_a_failed_write_leaves_the_old_one(tmp_path):
    path = tmp_path / "state.bin"
    assert write_atomic(path, [b"old", b"!"]) == 4
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        tmp.write_bytes(b"half a new fi")
        raise RuntimeError("the disk filled up")
    assert path.read_bytes() == b"old!"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]
    assert write_atomic(path, b"new") == 3
    assert path.read_bytes() == b"new"


def test_a_folder_replaces_its_namesake_and_a_failed_one_leaves_it(tmp_path):
    folder = tmp_path / "series"
    with replacing(folder, folder=True) as tmp:
        (tmp / "a").write_text("first")
    with pytest.raises(RuntimeError), replacing(folder, folder=True) as tmp:
        (tmp / "b").write_text("second")
        raise RuntimeError("interrupted")
    assert [p.name for p in folder.iterdir()] == ["a"]
    with replacing(folder, folder=True) as tmp:
        (tmp / "b").write_text("second")
    assert [p.name for p in folder.iterdir()] == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series"]


def test_a_vanished_folder_is_an_error_not_made_anew(tmp_path):
    gone = tmp_path / "disk" / "state.bin"
    with pytest.raises(OSError):
        write_atomic(gone, b"state")
    assert not (tmp_path / "disk").exists()
