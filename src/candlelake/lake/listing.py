"""Listing one directory of a lake, skipping hidden names (temporary files, the ledger)."""

from __future__ import annotations

from typing import Literal

from fsspec import AbstractFileSystem

from candlelake.lake.layout import is_hidden


def list_dir(
    fs: AbstractFileSystem,
    directory: str,
    kind: Literal["file", "directory"],
    *,
    hidden: bool = False,
) -> list[tuple[str, int]]:
    """(path without trailing `/`, size) of the entries of `kind`, sorted; none if absent."""
    try:
        entries = fs.ls(directory, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        (str(e["name"]).rstrip("/"), int(e.get("size") or 0))
        for e in entries
        if e.get("type") == kind and (hidden or not is_hidden(str(e["name"])))
    )


def list_names(fs: AbstractFileSystem, directory: str, kind: Literal["file", "directory"]) -> list[str]:
    """The paths of the visible entries of `kind`, sorted."""
    return [path for path, _ in list_dir(fs, directory, kind)]
