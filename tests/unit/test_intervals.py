"""The interval vocabulary: Binance's kline intervals, their markets and their action tags."""

import datetime as dt

import numpy as np
import pytest

from candlelake.bars import grid_of
from candlelake.bulk import BulkRequest
from candlelake.errors import UsageError
from candlelake.markets import (
    INTERVAL_ACTION_TAGS,
    INTERVALS,
    check_action_tag,
    check_market_interval,
    parse_interval,
)
from candlelake.signature import DatasetSignature
from candlelake.timeutil import Window, to_ms

# binance.md §1.1 (spot) and §2.1 (USD-M: the same set minus 1s), as Binance spells them.
BINANCE_SPOT = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"
]  # fmt: skip


def test_the_intervals_are_binances() -> None:
    assert list(INTERVALS) == BINANCE_SPOT
    for interval in BINANCE_SPOT:
        check_market_interval("spot", parse_interval(interval))
    for interval in BINANCE_SPOT[1:]:
        check_market_interval("futures", parse_interval(interval))


@pytest.mark.parametrize("value", ["2m", "1H", "1min", "", "1mo", "1 m"])
def test_an_unknown_interval_names_the_value_and_the_choices(value: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_interval(value)
    assert str(err.value) == f"unknown interval {value!r}; allowed: {', '.join(BINANCE_SPOT)}"


def test_one_second_bars_are_spot_only() -> None:
    with pytest.raises(UsageError, match=r"interval '1s' is not served for market 'futures'; allowed: 1m, "):
        check_market_interval("futures", "1s")


@pytest.mark.parametrize(
    ("interval", "tag"),
    [("1s", "downloaded_1sec"), ("1m", "downloaded_1min"), ("1h", "downloaded_1hour"),
     ("1d", "downloaded_1day"), ("1w", "downloaded_1week"), ("1M", "downloaded_1month")],
)  # fmt: skip
def test_each_interval_has_a_valid_signature_tag(interval: str, tag: str) -> None:
    assert INTERVAL_ACTION_TAGS[parse_interval(interval)] == tag
    text = f"bulk.manual.{tag}.parquet.ohlcv.spot.all.binance.binance.v1_0_0"
    assert DatasetSignature.parse(text).action_tag == tag


def test_the_tags_are_distinct() -> None:
    assert len(set(INTERVAL_ACTION_TAGS.values())) == len(INTERVALS)


def test_the_action_tag_must_name_the_interval() -> None:
    check_action_tag("downloaded_1hour", "1h")
    check_action_tag("archived_1min", "1m")  # upstream's other 1-minute tags stay allowed
    with pytest.raises(UsageError) as err:
        check_action_tag("downloaded_1min", "1h")
    expected = "--action_tag 'downloaded_1min' does not match --interval 1h; use downloaded_1hour"
    assert str(err.value) == expected
    with pytest.raises(UsageError, match="use downloaded_1min"):
        check_action_tag("downloaded_1day", "1m")


def test_a_bulk_request_checks_its_interval() -> None:
    base = dict(
        download_mode="bulk", downloading_entity="manual", vendor="binance", exchange_id="binance",
        universe="all", data_type="ohlcv", data_format="parquet", dst_dir="/lake",
        start_timestamp="2024-01-01T00:00:00+00:00", end_timestamp="2024-01-01T23:59:00+00:00",
    )  # fmt: skip
    request = BulkRequest(**base, action_tag="downloaded_1sec", contract_type="spot", interval="1s")  # type: ignore[arg-type]
    assert request.to_argv()[-2:] == ["--interval", "1s"]
    with pytest.raises(UsageError, match="interval '1s' is not served for market 'futures'"):
        BulkRequest(**base, action_tag="downloaded_1sec", contract_type="futures", interval="1s")  # type: ignore[arg-type]


def _ms(text: str) -> int:
    return to_ms(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC))


def test_weekly_bars_open_on_mondays_and_belong_to_the_month_they_open_in() -> None:
    grid = grid_of("1w")
    january = grid.partition_window(dt.date(2024, 1, 1))
    opens = [dt.datetime.fromtimestamp(t / 1000, dt.UTC).date() for t in grid.opens(january)]
    assert opens == [dt.date(2024, 1, d) for d in (1, 8, 15, 22, 29)]  # 2024-01-01 is a Monday
    assert grid.partition(_ms("2024-01-29T00:00:00")) == dt.date(2024, 1, 1)
    assert grid.close_times(np.asarray([_ms("2024-01-29T00:00:00")]))[0] == _ms("2024-02-05T00:00:00") - 1


def test_monthly_bars_follow_the_calendar() -> None:
    grid = grid_of("1M")
    window = Window(_ms("2023-12-15T00:00:00"), _ms("2024-03-01T00:00:00"))
    assert grid.count(window) == 2  # January and February; December opened before the window
    assert grid.next_open(_ms("2024-02-01T00:00:00")) == _ms("2024-03-01T00:00:00")
    assert grid.floor(_ms("2024-02-29T23:59:00")) == _ms("2024-02-01T00:00:00")


def test_bars_up_to_a_day_are_stored_by_day_and_counted_as_bars() -> None:
    grid = grid_of("1s")
    day = grid.partition_window(dt.date(2024, 2, 29))
    assert (grid.count(day), grid_of("1h").count(day), grid_of("1d").count(day)) == (86_400, 24, 1)
    assert not grid.monthly_partitions and grid_of("3d").monthly_partitions
    assert grid.unit == "1s bars" and grid_of("1m").unit == "minutes"
