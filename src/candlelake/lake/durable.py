"""How bytes land in the lake: whole, atomically, and (locally) durably.

`write_atomic` writes one file (local disk or object store). `stage` and `commit` write many
local files made durable together: their data flushed once, then renamed into place.

`write_atomic` pays an fsync per file, and on ext4 each one is a journal commit: about 0.5 ms
of a day file's write, most of the kernel time of an archive ingest. A month of day files in
one directory is instead written to temp files, flushed with one `syncfs` of their filesystem
(where the platform has it; an fsync per temp file otherwise), then renamed, and the
directory fsynced once. Readers still see a day file whole or not at all, and a power cut
after the renames cannot bring back a file without its data.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Callable, Sequence

from candlelake.lake.storage import FileSystem, is_local


def stage(temp_path: str, data: bytes) -> None:
    """Write `data` to a new temp file, not yet flushed (see `commit`)."""
    with open(temp_path, "xb") as handle:  # "x": a temp name is never shared
        try:
            handle.write(data)
        except BaseException:
            discard([temp_path])
            raise


def commit(directory: str, staged: Sequence[tuple[str, str]]) -> list[OSError | None]:
    """Flush the (temp, final) files of `directory`, rename each onto its final path, and
    fsync the directory. Returns each rename's error or None; a failed flush raises, with no
    file renamed and every temp file removed."""
    temps = [temp for temp, _ in staged]
    try:
        _flush(directory, temps)
    except BaseException:
        discard(temps)
        raise
    results: list[OSError | None] = []
    for n, (temp, path) in enumerate(staged):
        try:
            os.replace(temp, path)
        except OSError as exc:
            discard([temp])
            results.append(exc)
        except BaseException:  # interrupted: leave no temp file of this batch behind
            discard(temps[n:])
            raise
        else:
            results.append(None)
    sync_directory(directory)
    return results


def discard(temps: Sequence[str]) -> None:
    for temp in temps:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _flush(directory: str, temps: Sequence[str]) -> None:
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"syncfs: {os.strerror(err)}", directory)
        finally:
            os.close(fd)
        return
    for temp in temps:
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs(2), which Python's os module does not offer; None where it is missing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return function


def write_atomic(
    fs: FileSystem,
    path: str,
    data: bytes,
    *,
    temp_path: str,
    durable: bool = True,
    sync_dir: bool = True,
) -> None:
    """Make `path` hold exactly `data`, with no moment at which a reader sees a partial file.

    Local: write `temp_path` (same directory), fsync, then `os.replace`, which is atomic on
    POSIX. Object stores: one PUT of the finished bytes (a completed multipart upload above
    100 MB), and an object only becomes visible once complete; `temp_path` is unused.
    `durable=False` skips the two fsyncs (still atomic for readers, but a power cut may lose
    the file or bring back its old version): only for caches that can be rebuilt.
    `sync_dir=False` leaves the directory's fsync to the caller (`sync_directory`), which
    makes it once for many files.
    """
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    try:
        with open(temp_path, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise
    if durable and sync_dir:
        sync_directory(directory)


def sync_directory(directory: str) -> None:
    """Persist the renames made in a local `directory`, so a power cut cannot undo them."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
