"""SQL over a lake with DuckDB: every dataset is a view named after its signature.

    candlelake.sql('SELECT currency_pair, count(*) FROM "periodic_daily.airflow.downloaded_1min.'
                   'parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0" GROUP BY 1', lake="./lake")

Each dataset is handed to DuckDB as a pyarrow dataset over the lake's fsspec filesystem, with
the hive partitions (`currency_pair`, `year`, `month`) as columns. Going through pyarrow, not
DuckDB's own S3 reader, means the same credentials chain and endpoint settings as every other
command, and no DuckDB extension to download at run time. DuckDB still pushes filters and
column choices down to the scan. A lake with a single dataset also gets the view `candles`.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Literal

from candlelake.errors import UsageError
from candlelake.lake.catalog import find_datasets, is_dataset_root
from candlelake.lake.schema import PARTITION_SCHEMA
from candlelake.lake.storage import DatasetLocation, arrow_filesystem, normalize_url
from candlelake.signature import DatasetSignature

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

SINGLE_VIEW = "candles"


def connect(
    lake: str | DatasetLocation, *, aws_profile: str | None = None, endpoint_url: str | None = None
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A DuckDB connection with one view per dataset of `lake`, and the view names."""
    import duckdb
    import pyarrow.dataset as ds

    location = (
        lake
        if isinstance(lake, DatasetLocation)
        else DatasetLocation(normalize_url(lake), aws_profile=aws_profile, endpoint_url=endpoint_url)
    )
    fs, base = location.filesystem()
    roots: dict[str, str] = {}
    if is_dataset_root(fs, base):
        # A dataset root given directly: named after the signature its path spells, if any.
        try:
            roots[str(DatasetSignature.from_path(base))] = base
        except UsageError:
            roots[SINGLE_VIEW] = base
    else:
        roots = {str(s): posixpath.join(base, s.relative_path()) for s in find_datasets(fs, base)}
    if not roots:
        raise UsageError(f"no dataset under {location.url}")
    con = duckdb.connect()
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    # Hidden names (temporary files, the `_ledger` folder) are skipped by pyarrow.
    datasets = {
        name: ds.dataset(root, format="parquet", filesystem=arrow_filesystem(fs), partitioning=partitioning)
        for name, root in roots.items()
    }
    for name, dataset in datasets.items():
        con.register(name, dataset)
    if len(datasets) == 1 and SINGLE_VIEW not in datasets:
        con.register(SINGLE_VIEW, next(iter(datasets.values())))
    return con, sorted(roots)


def sql(
    query: str,
    lake: str | DatasetLocation,
    *,
    as_: Literal["pandas", "arrow"] = "pandas",
    aws_profile: str | None = None,
    endpoint_url: str | None = None,
) -> pd.DataFrame | pa.Table:
    """Run `query` over every dataset of `lake` (see the module docstring)."""
    import duckdb
    import pyarrow as pa

    con, _ = connect(lake, aws_profile=aws_profile, endpoint_url=endpoint_url)
    try:
        relation = con.sql(query)
        if relation is None:  # a statement without rows (SET, CREATE VIEW, ...)
            table = pa.table({})
        elif hasattr(relation, "to_arrow_table"):
            table = relation.to_arrow_table()
        else:  # DuckDB before 1.4 (the declared floor is 1.1)
            table = relation.fetch_arrow_table()
    except duckdb.Error as exc:
        raise UsageError(f"SQL error: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return table if as_ == "arrow" else table.to_pandas()
