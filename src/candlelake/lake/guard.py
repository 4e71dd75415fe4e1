"""Writers that meet on one day file: a partition lock locally, conditional puts on S3, and
the clean-up of temp files a killed writer left behind.

Why merge under a lock rather than lock days for a whole run: two runs over different parts
of one day must both end with their rows in the file, and a lock held only around
read-merge-write never makes a run wait for another run's downloads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from typing import Final

from candlelake.lake import layout
from candlelake.lake.storage import FileSystem

log = logging.getLogger(__name__)

# A temp file lives for the milliseconds between write and rename; one this old belongs to
# a writer that was killed.
TEMP_MAX_AGE_S: Final = 600.0
TEMP_SUFFIX: Final = ".tmp"


class ConcurrentWrite(OSError):
    """The object changed between reading it and putting its replacement."""


@contextlib.contextmanager
def partition_lock(directory: str) -> Iterator[None]:
    """An exclusive lock on a local partition directory (flock on the directory itself, so
    no lock file is left behind); released when the process dies, even by kill -9."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def put_if_unchanged(fs: FileSystem, path: str, data: bytes, version: str | None) -> None:
    """PUT `data` only if the object still has ETag `version` (None: still absent)."""
    condition = {"IfMatch": version} if version else {"IfNoneMatch": "*"}
    try:
        fs.pipe_file(path, data, **condition)
    except FileExistsError as exc:  # s3fs: If-None-Match failed
        raise ConcurrentWrite(str(exc)) from None
    except OSError as exc:
        # s3fs maps a failed If-Match (HTTP 412) to EINVAL; a concurrent write may also
        # surface as 409 ConditionalRequestConflict.
        text = str(exc)
        if exc.errno == errno.EINVAL or "PreconditionFailed" in text or "ConditionalRequestConflict" in text:
            raise ConcurrentWrite(text) from None
        raise
    except Exception as exc:
        # A botocore older than S3's conditional writes (late 2024) rejects the parameter:
        # write unconditionally, as before, rather than not at all.
        if type(exc).__name__ != "ParamValidationError":
            raise
        log.warning("this botocore cannot make conditional writes; concurrent runs may lose rows")
        fs.pipe_file(path, data)


def sweep_temp_files(directory: str, *, max_age_s: float = TEMP_MAX_AGE_S) -> list[str]:
    """Remove the hidden `.…tmp` files of dead writers from a local partition: those written
    by a process of this host that no longer runs, and any older than `max_age_s`."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX) and entry.is_file()):
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - entry.stat().st_mtime >= max_age_s or _writer_is_dead(entry.name):
                os.unlink(entry.path)
                removed.append(entry.path)
                log.info("removed a temp file left by an interrupted run: %s", entry.path)
    return removed


def _writer_is_dead(name: str) -> bool:
    owner = layout.temp_owner(name)
    if owner is None or owner[0] != layout.this_host():
        return False  # another host's process (a shared folder): only age tells
    try:
        os.kill(owner[1], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
