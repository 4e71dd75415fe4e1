"""A download process's start and end: no pandas import, no interpreter teardown.

Start. Keep a download process from importing pandas, which it never uses.

pyarrow asks "is this a pandas object?" on its first conversion of Python data (`pa.array`,
a scalar argument to a compute function, `to_numpy`), and answers by importing pandas:
0.12 s per process with a byte-code cache, about a second without, paid by every CLI call
and Airflow task although no pandas object is ever handed to pyarrow there.

pyarrow remembers a failed optional import as "no pandas objects around" and still imports
pandas later for anything that needs it (`to_pandas`, `from_pandas`): see its
`pandas-shim.pxi`. So the first probe is answered with an ImportError, once, at start-up.
There is no public switch for this. pyarrow 18 and later honour it; older ones import pandas
anyway from C++, so the worst case, there or after a change in pyarrow, is the old cost.

End. Tearing the interpreter down (freeing every module's objects: pyarrow, aiohttp, numpy,
...) costs a download process about 0.05 s, an eighth of a one-day download. By the time the
command has returned, everything it wrote is closed and synced (day files, ledger, report),
its event loop and worker threads have ended, and only buffered output remains: so the
process flushes that and exits at once (`skip_teardown`).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.abc
import logging
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _PandasHidden(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas":
            raise ImportError("pandas is not needed to download")
        return None


def defer_pandas_probe() -> None:
    """Answer pyarrow's first pandas probe with "not installed"; real uses still import it."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    hidden = _PandasHidden()
    sys.meta_path.insert(0, hidden)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hidden)


def skip_teardown(code: int) -> None:
    """Once the process starts to exit, flush logging and standard streams and leave with
    `code` without the interpreter's teardown. Registered last, the hook runs first; the
    process must exit with `code` (the CLI's return value) for it to hold."""

    def leave() -> None:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(code)

    atexit.register(leave)
