"""Local day files made durable together (lake/durable.py), on the real filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest

from candlelake.lake.durable import commit, stage


def _staged(directory: Path, names: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for name in names:
        temp, final = directory / f".{name}.tmp", directory / name
        stage(str(temp), name.encode() * 100)
        pairs.append((str(temp), str(final)))
    return pairs


def test_commit_puts_every_file_in_place_and_leaves_no_temp(tmp_path: Path) -> None:
    names = [f"day{i}.parquet" for i in range(5)]
    (tmp_path / "day0.parquet").write_bytes(b"old")  # replaced, like a re-run day
    assert commit(str(tmp_path), _staged(tmp_path, names)) == [None] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for name in names:
        assert (tmp_path / name).read_bytes() == name.encode() * 100


def test_a_failed_rename_fails_only_its_file(tmp_path: Path) -> None:
    pairs = _staged(tmp_path, ["a", "b", "c"])
    (tmp_path / "b").mkdir()  # a file cannot replace a directory
    (tmp_path / "b" / "keep").write_text("x")
    results = commit(str(tmp_path), pairs)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # b's temp is gone
    assert (tmp_path / "b").is_dir()


def test_a_failed_flush_renames_nothing_and_removes_the_temps(tmp_path: Path) -> None:
    pairs = _staged(tmp_path, ["a", "b"])
    with pytest.raises(FileNotFoundError):
        commit(str(tmp_path / "gone"), pairs)  # the flush cannot open the directory
    assert list(tmp_path.iterdir()) == []


def test_stage_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / ".x.tmp").write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        stage(str(tmp_path / ".x.tmp"), b"mine")
    assert (tmp_path / ".x.tmp").read_bytes() == b"someone else's"
