"""The `download-bulk` request: upstream's flags as one typed object, shared by the CLI and Airflow.

The CLI builds a `BulkRequest` from the flags click parsed (`from_params`); the DAG factory
builds one from a job tuple and the stage's settings and renders its argv (`to_argv`). Field
names are the CLI's parameter names, so the two cannot drift apart: a test sends requests
through `to_argv` and the real click parser and expects the same request back.

Only values that need no I/O are checked here, so a DAG file checks its job tuples when it
is parsed. Timestamps, the universe and the signature are checked by the command that runs
(the image that runs it owns the universe files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from candlelake.errors import UsageError
from candlelake.markets import (
    ArchivePeriod,
    DataType,
    Exchange,
    Interval,
    Market,
    Vendor,
    check_action_tag,
    check_data_type_market,
    check_exchange_market,
    check_market_interval,
    parse_data_type,
    parse_exchange,
    parse_interval,
    parse_market,
    parse_period,
    parse_vendor,
)
from candlelake.signature import DatasetSignature

PQ_SAVE_MODES = ("append", "list_and_merge")
DATA_FORMATS = ("parquet",)


@dataclass(frozen=True)
class BulkRequest:
    """Every `download-bulk` flag, typed; defaults are the CLI's."""

    download_mode: str
    downloading_entity: str
    action_tag: str
    vendor: Vendor
    exchange_id: Exchange
    universe: str
    data_type: DataType
    contract_type: Market  # upstream's name for the market
    data_format: str
    start_timestamp: str  # ISO 8601, or a template that renders to it
    end_timestamp: str  # inclusive
    # In the order upstream's DAGs emit them.
    s3_path: str | None = None
    dst_dir: str | None = None
    version: str = "v1_0_0"  # the dataset version token, e.g. v1_0_0
    aws_profile: str | None = None
    assert_on_missing_data: bool = False
    log_level: str = "INFO"  # -v
    universe_part: tuple[int, int] | None = None
    pq_save_mode: str = "append"
    bid_ask_depth: int = 10
    download_period: ArchivePeriod | None = None
    interval: Interval = "1m"  # the kline interval; the action tag must name it
    secret_name: str | None = None
    rest_url: str | None = None
    archive_url: str | None = None
    s3_endpoint_url: str | None = None
    concurrency: int = 8
    force: bool = False
    refresh_changed: bool = False
    verify_sample: int = 0
    no_archive: bool = False
    report_json: Path | None = None
    incremental: bool = False

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BulkRequest:
        """From click's parsed parameters (`ctx.params`), which carry these field names."""
        values = dict(params)
        # Some typer releases hand a missing required option over as None instead of failing.
        for item in dataclasses.fields(cls):
            required = item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
            if required and values.get(item.name) is None:
                raise UsageError(f"missing option --{item.name}")
        # click hands over its raw types; the CLI function gets typer's conversions.
        if values.get("universe_part") is not None:
            values["universe_part"] = tuple(values["universe_part"])
        if values.get("report_json") is not None:
            values["report_json"] = Path(values["report_json"])
        return cls(**values)

    def check(self) -> None:
        """Raise UsageError, naming the value and what is allowed, for the first bad field."""
        parse_data_type(self.data_type)
        if self.pq_save_mode not in PQ_SAVE_MODES:
            raise UsageError(f"bad --pq_save_mode {self.pq_save_mode!r}; allowed: {', '.join(PQ_SAVE_MODES)}")
        if self.data_format not in DATA_FORMATS:
            raise UsageError(
                f"--data_format {self.data_format!r} is not supported; supported: {', '.join(DATA_FORMATS)}"
            )
        if self.s3_path and self.dst_dir:
            raise UsageError("give either --s3_path or --dst_dir, not both")
        if not (self.s3_path or self.dst_dir):
            raise UsageError("give a destination: --s3_path s3://bucket[/prefix] or --dst_dir DIR")
        if self.s3_path and (not self.s3_path.startswith("s3://") or not self.s3_path[5:].split("/")[0]):
            raise UsageError(f"bad --s3_path {self.s3_path!r}; expected s3://bucket[/prefix]")
        if self.s3_endpoint_url and self.dst_dir:
            raise UsageError(
                f"--s3_endpoint_url {self.s3_endpoint_url!r} applies to --s3_path only, not to --dst_dir"
            )
        parse_period(self.download_period)
        parse_vendor(self.vendor)
        parse_exchange(self.exchange_id)
        parse_market(self.contract_type)
        check_exchange_market(self.exchange_id, self.contract_type, self.vendor)
        check_data_type_market(self.data_type, self.contract_type, self.exchange_id)
        check_market_interval(self.contract_type, parse_interval(self.interval), self.exchange_id)
        check_action_tag(self.action_tag, self.interval)
        if self.data_type == "funding_rate" and self.interval != "1m":
            raise UsageError(
                f"--interval {self.interval} does not apply to --data_type funding_rate: "
                "settlements are stored as published, not as bars"
            )

    def signature(self) -> DatasetSignature:
        """The dataset this request writes; `DatasetSignature.validate` checks its tokens."""
        return DatasetSignature(
            download_mode=self.download_mode,
            downloading_entity=self.downloading_entity,
            action_tag=self.action_tag,
            data_format=self.data_format,
            data_type=self.data_type,
            asset_type=self.contract_type,
            universe=self.universe,
            vendor=self.vendor,
            exchange_id=self.exchange_id,
            version=self.version,
        )

    def to_argv(self, literal: Callable[[str], str] = str) -> list[str]:
        """The arguments after `download-bulk`, an argv list (never a shell string).

        `literal` wraps every value that must reach the command unchanged (Airflow passes
        `command.literal` so Jinja leaves them alone); the window and `--s3_path` may be
        templates and are passed as they are. Optional flags appear only when they differ
        from the default.
        """
        args: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (f.default is not dataclasses.MISSING and value == f.default):
                continue
            flag = "-v" if f.name == "log_level" else f"--{f.name}"
            if isinstance(value, bool):
                args.append(flag)
            elif isinstance(value, tuple):
                args += [flag, *(literal(str(v)) for v in value)]
            elif f.name in _TEMPLATED:
                args += [flag, str(value)]
            else:
                args += [flag, literal(str(value))]
        return args


# Fields that may be Airflow templates rendered at run time.
_TEMPLATED = frozenset({"start_timestamp", "end_timestamp", "s3_path"})
