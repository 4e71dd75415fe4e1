"""candlelake: a complete, verified lake of crypto market candles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Kept equal to pyproject's version by a test; read from a constant because
# importlib.metadata costs 25 ms of every process's start.
__version__ = "0.1.0"

if TYPE_CHECKING:
    from candlelake.lake.aligned import read_aligned
    from candlelake.lake.reader import read
    from candlelake.lake.sql import sql

__all__ = ["__version__", "read", "read_aligned", "sql"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import candlelake` (and the CLI's --help) does not load pyarrow and pandas.
    if name == "read":
        from candlelake.lake.reader import read

        return read
    if name == "read_aligned":
        from candlelake.lake.aligned import read_aligned

        return read_aligned
    if name == "sql":
        from candlelake.lake.sql import sql

        return sql
    raise AttributeError(f"module 'candlelake' has no attribute {name!r}")
