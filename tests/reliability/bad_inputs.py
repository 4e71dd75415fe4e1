"""The bad inputs every command must refuse: exit 2, one line naming the value, nothing written.

This list is the single source of the table in docs/reliability.md
(`uv run python -m tests.reliability.bad_inputs --write docs/reliability.md`), and
tests/test_docs.py checks that the table is current.

Placeholders: `{lake}` a lake folder that must stay absent, `{tmp}` the case's own empty
folder, `{sim}` the simulator's URL.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BadInput:
    what: str  # the table's description
    argv: tuple[str, ...]
    names: str  # a text the one line must contain (the bad value or the flag)
    env: dict[str, str] = field(default_factory=dict)


BULK_BASE = {
    "--download_mode": "periodic_daily",
    "--downloading_entity": "manual",
    "--action_tag": "downloaded_1min",
    "--vendor": "ccxt",
    "--exchange_id": "binance",
    "--universe": "v7",
    "--data_type": "ohlcv",
    "--contract_type": "futures",
    "--data_format": "parquet",
    "--start_timestamp": "2024-02-19T00:00:00+00:00",
    "--end_timestamp": "2024-02-19T00:09:00+00:00",
    "--dst_dir": "{lake}",
    "--rest_url": "{sim}",
}

FRIENDLY_BASE = {
    "--market": "futures",
    "--start": "2024-02-19",
    "--end": "2024-02-19",
    "--lake": "{lake}",
    "--symbols": "BTC_USDT",
    "--rest-url": "{sim}",
}


def _argv(
    command: str, base: dict[str, str], changes: dict[str, str | None], extra: tuple[str, ...]
) -> tuple[str, ...]:
    flags = {**base, **changes}
    args = [command]
    for flag, value in flags.items():
        if value is not None:
            args += [flag, value]
    return (*args, *extra)


def bulk(
    what: str, names: str, *extra: str, env: dict[str, str] | None = None, **changes: str | None
) -> BadInput:
    """A `download-bulk` call: the valid base with `changes` (flag with `_` for `-`)."""
    renamed = {f"--{k}": v for k, v in changes.items()}
    return BadInput(what, _argv("download-bulk", BULK_BASE, renamed, extra), names, env or {})


def friendly(
    what: str, names: str, *extra: str, env: dict[str, str] | None = None, **changes: str | None
) -> BadInput:
    """A `download` call: the valid base with `changes` (flag with `_` for `-`)."""
    renamed = {f"--{k.replace('_', '-')}": v for k, v in changes.items()}
    return BadInput(what, _argv("download", FRIENDLY_BASE, renamed, extra), names, env or {})


def show(what: str, names: str, *args: str) -> BadInput:
    return BadInput(what, ("show", *args), names)


CASES: list[BadInput] = [
    # download-bulk: upstream's flags
    bulk("unknown vendor", "kraken", vendor="kraken"),
    bulk("unknown exchange", "kraken", exchange_id="kraken"),
    bulk("unknown universe", "v99", universe="v99"),
    bulk("unknown data type", "candles", data_type="candles"),
    bulk("data type not supported yet (bid_ask)", "bid_ask", data_type="bid_ask"),
    bulk("data type not supported yet (trades)", "trades", data_type="trades"),
    bulk("unknown contract type", "options", contract_type="options"),
    bulk("unknown data format", "csv", data_format="csv"),
    bulk("unknown download mode", "hourly", download_mode="hourly"),
    bulk("unknown downloading entity", "robot", downloading_entity="robot"),
    bulk("action tag with a path", "../x", action_tag="../x"),
    bulk("malformed version token", "1.0", "--version", "1.0"),
    bulk("start is not a time", "yesterday", start_timestamp="yesterday"),
    bulk("end is not a date", "2024-13-01", end_timestamp="2024-13-01"),
    bulk("empty start", "--start_timestamp", start_timestamp=""),
    bulk("bad UTC offset", "+25:00", end_timestamp="2024-02-19T00:00:00+25:00"),
    bulk("start after end", "is after", start_timestamp="2024-02-20T00:00:00+00:00"),
    bulk("start before 1970", "1969-12-31", start_timestamp="1969-12-31T00:00:00+00:00"),
    bulk(
        "no whole minute in the window",
        "no whole minute",
        start_timestamp="2024-02-19T00:00:30+00:00",
        end_timestamp="2024-02-19T00:00:40+00:00",
    ),
    bulk("both destinations", "not both", s3_path="s3://bucket"),
    bulk("no destination", "destination", dst_dir=None),
    bulk("S3 path without a bucket", "s3://", dst_dir=None, s3_path="s3://"),
    bulk("S3 path that is a local path", "/tmp/lake", dst_dir=None, s3_path="/tmp/lake"),
    bulk("s3a:// instead of s3://", "s3a://bucket", dst_dir=None, s3_path="s3a://bucket"),
    bulk("S3 endpoint with a local lake", "--s3_endpoint_url", "--s3_endpoint_url", "http://127.0.0.1:9"),
    bulk("REST URL with a space and another scheme", "ftp://x y", rest_url="ftp://x y"),
    bulk("REST URL without a scheme", "not-a-url", rest_url="not-a-url"),
    bulk("REST URL without a host", "http://", rest_url="http://"),
    bulk("REST URL with a bad port", "http://host:port", rest_url="http://host:port"),
    bulk("archive URL with another scheme", "ftp://archive", "--archive_url", "ftp://archive"),
    bulk("concurrency 0", "--concurrency", "--concurrency", "0"),
    bulk("concurrency above 64", "--concurrency", "--concurrency", "65"),
    bulk("concurrency not a number", "abc", "--concurrency", "abc"),
    bulk("universe part 0", "0 1", "--universe_part", "0", "1"),
    bulk("universe part past the end", "--universe_part 5 99", "--universe_part", "5", "99"),
    bulk("universe part with one number", "--universe_part", "--universe_part", "2"),
    bulk("unknown parquet save mode", "overwrite", "--pq_save_mode", "overwrite"),
    bulk("unknown archive period", "weekly", "--download_period", "weekly"),
    bulk("unknown interval", "2m", "--interval", "2m"),
    bulk("interval in the wrong case (1H)", "1H", "--interval", "1H"),
    bulk("1s interval on futures", "'1s'", "--interval", "1s", action_tag="downloaded_1sec"),
    bulk("action tag of another interval", "downloaded_1min", "--interval", "1h"),
    bulk("mark price on spot", "'mark_price'", data_type="mark_price", contract_type="spot"),
    bulk("funding rate on spot", "'funding_rate'", data_type="funding_rate", contract_type="spot"),
    bulk("funding rate from OKX", "'okx'", data_type="funding_rate", exchange_id="okx"),
    bulk(
        "funding rate on COIN-M through ccxt",
        "'ccxt'",
        data_type="funding_rate",
        contract_type="coin_futures",
        universe="all",
        action_tag="downloaded_all",
    ),
    bulk(
        "mark price on COIN-M from a shipped universe",
        "coin_futures",
        data_type="mark_price",
        contract_type="coin_futures",
        vendor="binance",
    ),
    bulk("COIN-M through ccxt", "'ccxt'", contract_type="coin_futures", universe="all"),
    bulk("shipped universe on COIN-M", "coin_futures", contract_type="coin_futures", vendor="binance"),
    bulk("COIN-M universe on spot", "coinm_v1", universe="coinm_v1", contract_type="spot"),
    bulk(
        "funding rate with an interval",
        "--interval 1h",
        "--interval",
        "1h",
        data_type="funding_rate",
        action_tag="downloaded_1hour",
    ),
    bulk("unknown log level", "LOUD", "-v", "LOUD"),
    bulk("negative verify sample", "--verify_sample", "--verify_sample", "-1"),
    bulk("bid/ask depth not a number", "abc", "--bid_ask_depth", "abc"),
    bulk("report path is a folder", "{tmp}", "--report_json", "{tmp}"),
    bulk("report path under a file", "/dev/null", "--report_json", "/dev/null/report.json"),
    bulk("report path under a read-only folder", "/proc", "--report_json", "/proc/report.json"),
    bulk("lake folder under a file", "/dev/null", dst_dir="/dev/null/lake"),
    bulk("lake folder under a read-only folder", "/proc", dst_dir="/proc/lake"),
    bulk("unknown flag", "--bogus", "--bogus", "1"),
    bulk("missing required flag", "--vendor", vendor=None),
    bulk("weight limit not WEIGHT/SECONDS", "abc", env={"CANDLELAKE_WEIGHT_LIMIT": "abc"}),
    bulk("negative REST timeout", "-1", env={"CANDLELAKE_REST_TIMEOUT_S": "-1"}),
    bulk("REST attempts not a number", "many", env={"CANDLELAKE_REST_ATTEMPTS": "many"}),
    bulk(
        "REST URL from the environment malformed",
        "ftp://env",
        rest_url=None,
        env={"CANDLELAKE_BINANCE_URL": "ftp://env"},
    ),
    bulk(
        "zero S3 read timeout",
        "CANDLELAKE_S3_READ_TIMEOUT_S",
        dst_dir=None,
        s3_path="s3://bucket",
        env={"CANDLELAKE_S3_READ_TIMEOUT_S": "0", "CANDLELAKE_S3_ENDPOINT_URL": "http://127.0.0.1:9"},
    ),
    # download: the friendly front end
    friendly("unknown market", "options", market="options"),
    friendly("impossible date", "2024-02-30", start="2024-02-30"),
    friendly("end is not a date", "yesterday", end="yesterday"),
    friendly("start after end", "is after", start="2024-02-20"),
    friendly("start before 1970", "1969-12-31", start="1969-12-31"),
    friendly("empty symbol list", "--symbols", symbols=","),
    friendly("lower-case symbol", "btc_usdt", symbols="btc_usdt"),
    friendly(
        "unknown COIN-M contract",
        "XRP_USD_PERP",
        market="coin_futures",
        vendor="binance",
        symbols="XRP_USD_PERP",
    ),
    friendly("USD-M symbol on COIN-M", "BTC_USDT", market="coin_futures", vendor="binance"),
    friendly(
        "pair universe on COIN-M",
        "universe v7.3",
        market="coin_futures",
        vendor="binance",
        universe="v7.3",
        symbols=None,
    ),
    friendly("COIN-M contract on USD-M", "BTC_USD_PERP", symbols="BTC_USD_PERP"),
    friendly("symbol with a dash", "BTC-USDT", symbols="BTC-USDT"),
    friendly("symbols and universe together", "exactly one", universe="v7"),
    friendly("neither symbols nor universe", "exactly one", symbols=None),
    friendly("symbol the exchange does not list", "NOPE_USDT", symbols="NOPE_USDT"),
    friendly("unknown vendor", "foo", vendor="foo"),
    friendly("unknown exchange", "foo", exchange="foo"),
    friendly("S3 lake without a bucket", "s3://", lake="s3://"),
    friendly("s3a:// lake", "s3a://bucket", lake="s3a://bucket"),
    friendly("empty lake", "empty lake", lake=""),
    friendly("S3 endpoint with a local lake", "--s3-endpoint-url", s3_endpoint_url="http://127.0.0.1:9"),
    friendly("REST URL with a space", "ftp://x y", rest_url="ftp://x y"),
    friendly("archive URL that is not a URL", "nope", archive_url="nope"),
    friendly("unknown archive period", "hourly", download_period="hourly"),
    friendly("unknown interval", "90m", interval="90m"),
    friendly("1s interval on futures", "'1s'", interval="1s"),
    friendly("concurrency 0", "--concurrency", concurrency="0"),
    friendly("report path is a folder", "{tmp}", report_json="{tmp}"),
    friendly("unknown universe", "v99", symbols=None, universe="v99"),
    friendly("unknown log level", "LOUD", "-v", "LOUD"),
    friendly("negative verify sample", "--verify-sample", verify_sample="-3"),
    # show: reading the lake
    show("no dataset there", "{lake}", "--lake", "{lake}"),
    show("parquet export without a file", "--output", "--lake", "{tmp}", "--format", "parquet"),
    show("start is not a time", "soon", "--lake", "{tmp}", "--start", "soon"),
    show("malformed signature", "not.a.signature", "--lake", "{tmp}", "--signature", "not.a.signature"),
    show("limit 0", "--limit", "--lake", "{tmp}", "--limit", "0"),
    show(
        "export into a missing folder", "{tmp}/no/such", "--lake", "{tmp}", "--output", "{tmp}/no/such/x.csv"
    ),
]


def render() -> str:
    """The Markdown table of `CASES`, between markers, for docs/reliability.md."""
    lines = [BEGIN, "", "| # | bad input | command | the line names |", "|---|---|---|---|"]
    for number, case in enumerate(CASES, 1):
        env = " ".join(f"{k}={v}" for k, v in case.env.items())
        lines.append(
            f"| {number} | {case.what} | `{case.argv[0]}`{' with ' + env if env else ''} | `{case.names}` |"
        )
    lines += ["", END]
    return "\n".join(lines)


BEGIN = "<!-- bad inputs: generated from tests/reliability/bad_inputs.py -->"
END = "<!-- end of bad inputs -->"


def _write(path: Path) -> None:
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + render() + text[end:])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        _write(Path(sys.argv[2]))
    else:
        print(render())
