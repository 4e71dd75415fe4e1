"""The local disk behind fsspec's interface, without importing fsspec (`LocalFiles`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import Any, BinaryIO, Final


class LocalFiles:
    """The local filesystem behind fsspec's interface, without importing fsspec.

    fsspec and what it pulls in (importlib.metadata with an entry-point scan, zipfile,
    configparser) cost a process about 0.1 s at start-up, which every local download paid.
    The calls a download makes are answered here exactly as fsspec's LocalFileSystem answers
    them; any other (glob, find, rm, ...) goes to a LocalFileSystem made on first use.
    Local writes never go through either: see lake/durable.py.
    """

    protocol: Final = ("file", "local")

    def info(self, path: str) -> dict[str, Any]:
        out = os.stat(path)
        kind = "directory" if stat.S_ISDIR(out.st_mode) else "file" if stat.S_ISREG(out.st_mode) else "other"
        return {"name": path, "size": out.st_size, "type": kind}

    def ls(self, path: str, detail: bool = False) -> list[Any]:
        here = self.info(path)
        if here["type"] != "directory":
            return [here if detail else path]
        entries: list[Any] = []
        with os.scandir(path) as found:
            for entry in found:
                if not detail:  # names only, no stat: as fsspec
                    entries.append(entry.path)
                    continue
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:  # gone since the scan
                    continue
                if entry.is_symlink():  # as fsspec: "other", with its target's size
                    try:
                        size = entry.stat().st_size
                    except OSError:
                        size = 0
                kind = "other"
                if entry.is_dir(follow_symlinks=False):
                    kind = "directory"
                elif entry.is_file(follow_symlinks=False):
                    kind = "file"
                entries.append({"name": entry.path, "size": size, "type": kind})
        return entries

    def open(self, path: str, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            return self._fsspec().open(path, mode)  # type: ignore[no-any-return]
        return open(path, "rb")

    def cat_file(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if start is not None:
                handle.seek(start if start >= 0 else max(0, size + start))
            if end is None:
                return handle.read()
            return handle.read((end if end >= 0 else size + end) - handle.tell())

    def cat_ranges(
        self,
        paths: Sequence[str],
        starts: Sequence[int | None],
        ends: Sequence[int | None],
        on_error: str = "return",
    ) -> list[bytes | Exception]:
        out: list[bytes | Exception] = []
        for path, start, end in zip(paths, starts, ends, strict=True):
            try:
                out.append(self.cat_file(path, start, end))
            except Exception as exc:
                if on_error != "return":
                    raise
                out.append(exc)
        return out

    def _fsspec(self) -> Any:
        fs = self.__dict__.get("_full")
        if fs is None:
            from fsspec.implementations.local import LocalFileSystem

            fs = self.__dict__["_full"] = LocalFileSystem()
        return fs

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy and pickle probe for these; fsspec is not needed
            raise AttributeError(name)
        return getattr(self._fsspec(), name)
