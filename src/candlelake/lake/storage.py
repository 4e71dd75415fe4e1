"""One filesystem layer (fsspec's interface) for local paths and `s3://` URLs.

Local paths and `file://` URLs use the local filesystem (`LocalFiles`); `s3://bucket/prefix` uses s3fs, with
credentials from the standard AWS chain (environment, shared config and credentials files,
container or instance roles). `aws_profile` picks a profile from the shared files, and
`endpoint_url` (or the environment variable `CANDLELAKE_S3_ENDPOINT_URL`) points at an
S3-compatible store such as MinIO. Any other fsspec URL (`memory://`) works too.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import posixpath
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from candlelake.envvars import env_number
from candlelake.errors import StorageUnreachable, UsageError
from candlelake.lake.local_files import LocalFiles

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

ENDPOINT_ENV: Final = "CANDLELAKE_S3_ENDPOINT_URL"
# Every S3 call is bounded: botocore's own timeouts and retries ("standard" mode retries
# timeouts, resets and 5xx with backoff), so that a hung endpoint is noticed in about
# (connect or read timeout) x attempts, under a minute by default.
S3_TIMEOUTS: Final = {
    "connect_timeout": ("CANDLELAKE_S3_CONNECT_TIMEOUT_S", 5.0),
    "read_timeout": ("CANDLELAKE_S3_READ_TIMEOUT_S", 10.0),
}
S3_ATTEMPTS: Final = ("CANDLELAKE_S3_ATTEMPTS", 3)
PROBE_PREFIX: Final = ".candlelake-probe-"


# What the lake's functions take: a local filesystem or any fsspec one (s3fs, memory).
FileSystem: TypeAlias = "AbstractFileSystem | LocalFiles"


def is_local(fs: FileSystem) -> bool:
    """Whether `fs` is the local disk (ours or fsspec's LocalFileSystem)."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols


def arrow_filesystem(fs: FileSystem) -> Any:
    """`fs` as pyarrow takes it: Arrow's own local filesystem for the local disk, as pyarrow
    itself substitutes for fsspec's LocalFileSystem."""
    if isinstance(fs, LocalFiles):
        from pyarrow.fs import LocalFileSystem

        return LocalFileSystem()
    return fs


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def normalize_url(url: str) -> str:
    """A canonical spelling: local paths absolute (no `file://`), no trailing `/`."""
    if not url.strip():
        raise UsageError("empty lake location")
    protocol = _protocol(url)
    if protocol == "file":
        local = url.split("://", 1)[1] if "://" in url else url
        return os.path.abspath(os.path.expanduser(local))
    if protocol == "s3a":
        raise UsageError(f"unsupported URL {url!r}; write s3:// instead of s3a://")
    head, rest = url.split("://", 1)
    if protocol == "s3" and not rest.split("/")[0].strip():
        raise UsageError(f"bad lake URL {url!r}: no bucket; expected s3://bucket[/prefix]")
    return f"{head.lower()}://{rest.rstrip('/')}"


def join_url(url: str, *parts: str) -> str:
    """Append `/`-separated parts to a URL or local path."""
    clean = [p.strip("/") for p in parts if p.strip("/")]
    if _protocol(url) == "file":
        return os.path.join(url, *clean)
    return "/".join([url.rstrip("/"), *clean])


@dataclass(frozen=True)
class DatasetLocation:
    """Where a dataset lives: its root URL (lake base + signature path) and how to reach it.

    `storage_options` go to the fsspec filesystem unchanged (for example `key` and `secret`);
    they are left out of `repr` because they may hold secrets.
    """

    url: str
    aws_profile: str | None = None
    endpoint_url: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)

    @property
    def is_local(self) -> bool:
        return _protocol(self.url) == "file"

    def filesystem(self) -> tuple[FileSystem, str]:
        """A fresh filesystem and the dataset root as a path inside it."""
        return open_filesystem(
            self.url,
            aws_profile=self.aws_profile,
            endpoint_url=self.endpoint_url,
            storage_options=self.storage_options,
        )

    def child(self, *parts: str) -> DatasetLocation:
        """The same storage settings, one level (or more) deeper."""
        return DatasetLocation(
            join_url(self.url, *parts),
            aws_profile=self.aws_profile,
            endpoint_url=self.endpoint_url,
            storage_options=self.storage_options,
        )


def open_filesystem(
    url: str,
    *,
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> tuple[FileSystem, str]:
    """Build the filesystem for `url`; return it with the path to use inside it."""
    url = normalize_url(url)
    protocol = _protocol(url)
    options: dict[str, Any] = dict(storage_options or {})
    if protocol == "file":
        return LocalFiles(), url
    import fsspec  # only for remote stores; see LocalFiles

    if protocol == "s3":
        endpoint = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        if endpoint:
            options.setdefault("endpoint_url", endpoint)
        if "session" not in options:
            options["session"] = _bounded_session(aws_profile or options.pop("profile", None))
        # Another process may write to the lake at any time: never answer from a stale listing.
        options.setdefault("use_listings_cache", False)
        options.setdefault("config_kwargs", s3_config())
    elif aws_profile or endpoint_url:
        raise UsageError(f"aws_profile and endpoint_url apply to s3:// only, not to {url!r}")
    # skip_instance_cache: fsspec would otherwise share one instance, and its state, per
    # argument set across the whole process.
    fs = fsspec.filesystem(protocol, skip_instance_cache=True, **options)
    if protocol == "s3":
        # s3fs would retry each of botocore's retried calls 5 more times (5 x 3 x 15 s for a
        # hung endpoint); botocore's retries alone are the bound.
        fs.retries = 1
    return fs, fs._strip_protocol(url)


def _bounded_session(profile: str | None) -> Any:
    """An aiobotocore session whose PUTs do not ask for `100-continue`: aiohttp waits for
    that answer with no timeout, so a hung endpoint would hang a write forever."""
    from aiobotocore.session import AioSession

    session = AioSession(profile=profile)
    session.register("before-call.s3", _no_expect_continue)
    return session


def _no_expect_continue(params: dict[str, Any], **kwargs: Any) -> None:
    params.get("headers", {}).pop("Expect", None)


def s3_config() -> dict[str, Any]:
    """botocore `Config` arguments: timeouts and attempts, from `CANDLELAKE_S3_*` if set."""
    config: dict[str, Any] = {key: env_number(*spec) for key, spec in S3_TIMEOUTS.items()}
    attempts = int(env_number(*S3_ATTEMPTS))
    config["retries"] = {"total_max_attempts": attempts, "mode": "standard"}
    return config


def unreachable(location: DatasetLocation, exc: BaseException) -> StorageUnreachable | None:
    """`storage unreachable: <endpoint>: <cause>` if `exc` says the storage did not answer."""
    if not _is_connection_failure(exc):
        return None
    endpoint = location.url
    if not location.is_local:
        endpoint = location.endpoint_url or os.environ.get(ENDPOINT_ENV) or location.url
    return StorageUnreachable(f"storage unreachable: {endpoint}: {reason_of(exc)}")


def _is_connection_failure(exc: BaseException) -> bool:
    kinds: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError)
    try:  # botocore comes with s3fs, which a local lake does not need
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        kinds += (BotoConnectionError, HTTPClientError)
    except ImportError:
        pass
    seen: BaseException | None = exc
    while seen is not None:  # s3fs and fsspec wrap the cause
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def url_of(fs: FileSystem, path: str) -> str:
    """The URL (or local path) of `path` inside `fs`, as the user would write it."""
    if is_local(fs):
        return path
    return fs.unstrip_protocol(path)


def ensure_writable(location: DatasetLocation) -> None:
    """Raise UsageError unless files can be created under `location`; create nothing.

    The check writes and deletes one hidden probe file (readers ignore names starting with
    `.`), and deletes any probe a killed run left. Locally the probe goes into the nearest
    existing ancestor, so no directory is made.
    """
    if location.is_local:
        ensure_local_writable(location.url)
        return
    try:
        fs, root = location.filesystem()
        probe = posixpath.join(root, f"{PROBE_PREFIX}{uuid.uuid4().hex}")
        fs.pipe_file(probe, b"")
    except UsageError:
        raise
    except Exception as exc:  # botocore, aiohttp and fsspec errors share no base class
        # A dead or hung endpoint before any download is most likely a wrong endpoint.
        down = unreachable(location, exc)
        if down is not None:
            raise UsageError(f"cannot write to {location.url}: {down}") from None
        raise UsageError(f"cannot write to {location.url}: {reason_of(exc)}") from None
    try:
        fs.rm_file(probe)
    except Exception as exc:  # a write-only grant still lets the download work
        log.warning("could not delete write probe %s: %s", url_of(fs, probe), reason_of(exc))
        return
    # Probes left by a run killed between its write and delete go too. Tidying only: the
    # check has passed, and another run's probe swept while it checks only makes its own
    # delete find nothing.
    try:
        names = [str(n) for n in fs.ls(root, detail=False)]
    except Exception:  # no listing grant, or nothing there yet
        names = []
    for name in names:
        if posixpath.basename(name).startswith(PROBE_PREFIX):
            with contextlib.suppress(Exception):
                fs.rm_file(name)


def ensure_local_writable(path: str) -> None:
    """Raise UsageError unless a file can be created at `path` (a folder, existing or not)."""
    target = Path(path)
    ancestor = target
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"cannot write to {path}: {ancestor} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=ancestor)
    except OSError as exc:
        raise UsageError(f"cannot write to {path}: {reason_of(exc)}") from None
    os.close(fd)
    # Probes left by a run killed between its write and delete go too; another run's probe
    # may be swept while it checks, which only makes its own delete find nothing.
    for leftover in [probe, *glob.glob(os.path.join(glob.escape(str(ancestor)), PROBE_PREFIX + "*"))]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)


def reason_of(exc: BaseException) -> str:
    """The first line of an error's message (or its OS error text), for a one-line report."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
