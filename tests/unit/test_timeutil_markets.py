import datetime as dt

import pytest

from candlelake.errors import UsageError
from candlelake.markets import to_exchange_id
from candlelake.timeutil import Window, parse_timestamp, to_ms


@pytest.mark.parametrize(
    "text",
    ["2024-02-19T00:00:00+00:00", "2024-02-19 00:00:00", "2024-02-19T00:00:00Z", "2024-02-19T01:00:00+01:00"],
)
def test_airflow_rendered_timestamps_parse_to_the_same_utc_instant(text):
    assert parse_timestamp(text) == dt.datetime(2024, 2, 19, tzinfo=dt.UTC)


def test_unparseable_timestamp_names_the_value():
    with pytest.raises(UsageError, match="'yesterday'"):
        parse_timestamp("yesterday", flag="--start_timestamp")


def test_window_days_cover_partial_days():
    start = to_ms(dt.datetime(2024, 2, 28, 23, 0))
    end = to_ms(dt.datetime(2024, 3, 1, 0, 1))
    assert Window(start, end).days() == [dt.date(2024, 2, 28), dt.date(2024, 2, 29), dt.date(2024, 3, 1)]


def test_symbol_spellings_round_trip():
    assert to_exchange_id("1000PEPE_USDT") == "1000PEPEUSDT"
    with pytest.raises(UsageError, match="btc-usdt"):
        to_exchange_id("btc-usdt")
