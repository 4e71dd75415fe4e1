"""Storage layer: URL handling and the writability check, locally and on S3."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from fsspec.implementations.local import LocalFileSystem

from candlelake.errors import UsageError
from candlelake.lake import DatasetLocation, LakeWriter, ensure_writable
from candlelake.lake.local_files import LocalFiles
from candlelake.lake.storage import join_url, normalize_url, open_filesystem


def all_paths(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_normalize_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_url("lake") == str(tmp_path / "lake")
    assert normalize_url(f"file://{tmp_path}/lake/") == str(tmp_path / "lake")
    assert normalize_url("S3://bucket/prefix/") == "s3://bucket/prefix"
    with pytest.raises(UsageError, match="s3://"):
        normalize_url("s3a://bucket/prefix")
    assert join_url("s3://b/p", "/v3/x/") == "s3://b/p/v3/x"
    assert join_url("/data", "v3", "x") == "/data/v3/x"


def test_s3_options_are_refused_for_local_paths(tmp_path: Path) -> None:
    _fs, path = open_filesystem(str(tmp_path))
    assert path == str(tmp_path)
    with pytest.raises(UsageError, match="s3:// only"):
        open_filesystem("memory://lake", endpoint_url="http://127.0.0.1:1")


def test_local_files_answer_as_fsspecs_local_filesystem(tmp_path: Path) -> None:
    # A tree with the kinds of entries a lake directory may hold, links included.
    (tmp_path / "month").mkdir()
    (tmp_path / "month" / "day.parquet").write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    (tmp_path / "month" / ".day.parquet.123.tmp").write_bytes(b"")
    (tmp_path / "month" / "nested").mkdir()
    (tmp_path / "month" / "to-file").symlink_to(tmp_path / "month" / "day.parquet")
    (tmp_path / "month" / "to-dir").symlink_to(tmp_path / "month" / "nested")
    (tmp_path / "month" / "dangling").symlink_to(tmp_path / "gone")
    ours, theirs = LocalFiles(), LocalFileSystem()
    keys = ("name", "size", "type")

    def listing(fs: LocalFiles | LocalFileSystem, path: str) -> list[tuple[object, ...]]:
        return sorted(tuple(e[k] for k in keys) for e in fs.ls(path, detail=True))

    directory, file = str(tmp_path / "month"), str(tmp_path / "month" / "day.parquet")
    for path in (directory, file, str(tmp_path / "month" / "to-file")):
        assert listing(ours, path) == listing(theirs, path)
        assert sorted(ours.ls(path)) == sorted(theirs.ls(path))
        assert {k: ours.info(path)[k] for k in keys} == {k: theirs.info(path)[k] for k in keys}
    for start, end in [(None, None), (0, 8), (100, None), (-8, None), (-8, -4), (150, 208)]:
        assert ours.cat_file(file, start=start, end=end) == theirs.cat_file(file, start=start, end=end)
    missing = str(tmp_path / "missing")
    for fs in (ours, theirs):
        with pytest.raises(FileNotFoundError):
            fs.ls(missing, detail=True)
        with pytest.raises(FileNotFoundError):
            fs.info(missing)
        got = fs.cat_ranges([file, missing], [0, 0], [4, 4], on_error="return")
        assert got[0] == b"PAR1" and isinstance(got[1], FileNotFoundError)
    with ours.open(file, "rb") as handle:
        assert handle.read() == (tmp_path / "month" / "day.parquet").read_bytes()
    # Anything else is fsspec's own.
    assert sorted(ours.find(str(tmp_path))) == sorted(theirs.find(str(tmp_path)))


def test_writable_local_directory_gets_nothing(tmp_path: Path) -> None:
    ensure_writable(DatasetLocation(str(tmp_path / "a" / "b" / "dataset")))
    assert all_paths(tmp_path) == []


@pytest.mark.parametrize("below", ["a-file/lake", "a-file/deeper/lake"])
def test_unwritable_local_destination(tmp_path: Path, below: str) -> None:
    (tmp_path / "a-file").write_text("I am a file, not a directory")
    target = tmp_path / below
    with pytest.raises(UsageError, match=r"cannot write to .*a-file is not a directory"):
        LakeWriter(DatasetLocation(str(target))).check_writable()
    assert all_paths(tmp_path) == ["a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_local_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write to"):
            ensure_writable(DatasetLocation(str(locked / "lake")))
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def _keys(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint)
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_s3_writable_bucket_keeps_no_probe(s3_bucket: str, s3_env: str) -> None:
    ensure_writable(DatasetLocation(f"{s3_bucket}/lake/v3"))
    assert _keys(s3_env, s3_bucket.removeprefix("s3://")) == []


def test_a_probe_left_by_a_killed_run_is_swept_and_nothing_else(s3_bucket: str, s3_env: str) -> None:
    bucket = s3_bucket.removeprefix("s3://")
    client = boto3.client("s3", endpoint_url=s3_env)
    for key in ("lake/v3/.candlelake-probe-killed", "lake/v3/.other-hidden", "lake/v3/currency_pair=X/a"):
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    ensure_writable(DatasetLocation(f"{s3_bucket}/lake/v3"))
    assert sorted(_keys(s3_env, bucket)) == ["lake/v3/.other-hidden", "lake/v3/currency_pair=X/a"]


def test_a_local_probe_left_by_a_killed_run_is_swept(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / ".candlelake-probe-killed").write_bytes(b"")
    (tmp_path / "lake" / ".other-hidden").write_bytes(b"")
    ensure_writable(DatasetLocation(str(tmp_path / "lake")))
    assert all_paths(tmp_path) == ["lake", "lake/.other-hidden"]


def test_s3_missing_bucket_is_a_usage_error_and_creates_nothing(s3_env: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_env)
    before = {b["Name"] for b in client.list_buckets()["Buckets"]}
    with pytest.raises(UsageError, match="cannot write to s3://no-such-bucket-candlelake/lake"):
        ensure_writable(DatasetLocation("s3://no-such-bucket-candlelake/lake"))
    after = {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert after == before


def test_s3_unknown_profile_is_a_usage_error(s3_bucket: str) -> None:
    with pytest.raises(UsageError, match="cannot write to"):
        ensure_writable(DatasetLocation(s3_bucket, aws_profile="no-such-profile"))


def test_s3_unreachable_endpoint_is_a_usage_error(s3_bucket: str) -> None:
    location = DatasetLocation(s3_bucket, endpoint_url="http://127.0.0.1:9", storage_options={
        "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}}})  # fmt: skip
    with pytest.raises(UsageError, match="cannot write to"):
        ensure_writable(location)
