"""Atomic whole-file writes: all or nothing, readable by others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmrare.files import atomic_write


@pytest.mark.parametrize("fsync", [False, True])
def test_the_file_holds_all_of_the_data_and_is_readable_by_others(tmp_path: Path, fsync: bool) -> None:
    path = tmp_path / "new" / "report.json"
    atomic_write(path, b"{}", fsync=fsync)
    assert path.read_bytes() == b"{}"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    atomic_write(path, b"old")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
