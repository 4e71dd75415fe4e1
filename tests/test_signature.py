"""Dataset signature (schema v3): parse, validate, format, path."""

from __future__ import annotations

import pytest

from candlelake.errors import UsageError
from candlelake.signature import ALLOWED_VALUES, TOKENS, DatasetSignature

TUTORIAL_SPOT = "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.spot.v7.ccxt.binance.v1_0_0"
TUTORIAL_FUTURES = "periodic_daily.airflow.downloaded_1min.parquet.ohlcv.futures.v7_3.ccxt.binance.v1_0_0"


def _with(token: str, value: str, base: str = TUTORIAL_SPOT) -> str:
    parts = base.split(".")
    parts[TOKENS.index(token)] = value
    return ".".join(parts)


def test_parse_names_every_token() -> None:
    sig = DatasetSignature.parse(TUTORIAL_FUTURES)
    assert sig == DatasetSignature(
        download_mode="periodic_daily",
        downloading_entity="airflow",
        action_tag="downloaded_1min",
        data_format="parquet",
        data_type="ohlcv",
        asset_type="futures",
        universe="v7.3",
        vendor="ccxt",
        exchange_id="binance",
        version="v1_0_0",
    )


@pytest.mark.parametrize("text", [TUTORIAL_SPOT, TUTORIAL_FUTURES])
def test_dotted_form_round_trips(text: str) -> None:
    assert str(DatasetSignature.parse(text)) == text


def test_relative_path_matches_upstream_layout() -> None:
    assert (
        DatasetSignature.parse(TUTORIAL_SPOT).relative_path()
        == "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/spot/v7/ccxt/binance/v1_0_0"
    )
    assert DatasetSignature.parse(TUTORIAL_FUTURES).relative_path() == (
        "v3/periodic_daily/airflow/downloaded_1min/parquet/ohlcv/futures/v7_3/ccxt/binance/v1_0_0"
    )


def test_both_universe_spellings_give_one_signature() -> None:
    dotted = DatasetSignature.parse(TUTORIAL_FUTURES)
    built = DatasetSignature(**{**dotted.__dict__, "universe": "v7.3"})
    assert built == dotted
    assert str(built) == TUTORIAL_FUTURES


def test_from_path_accepts_a_full_dataset_url() -> None:
    url = "s3://bucket/prefix/" + DatasetSignature.parse(TUTORIAL_FUTURES).relative_path() + "/"
    assert DatasetSignature.from_path(url) == DatasetSignature.parse(TUTORIAL_FUTURES)


@pytest.mark.parametrize(
    "text",
    [
        _with("universe", "all"),
        _with("vendor", "binance"),
        _with("download_mode", "periodic_10min"),
        _with("exchange_id", "cryptocom"),
        _with("action_tag", "resampled_10sec"),
        _with("data_format", "postgres"),
    ],
)
def test_head_values_are_valid(text: str) -> None:
    DatasetSignature.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("periodic_daily.airflow", "expected 10 non-empty tokens"),
        (TUTORIAL_SPOT + ".extra", "got 11"),
        (TUTORIAL_SPOT.replace(".airflow.", ".."), "non-empty"),
        (_with("data_type", "ohlc"), "invalid data_type 'ohlc'"),
        (_with("asset_type", "swap"), "invalid asset_type 'swap' in signature; allowed: futures, spot"),
        (_with("version", "v1_0_1"), "invalid version 'v1_0_1'"),
        (
            _with("universe", "v9"),
            "invalid universe 'v9' in signature for vendor ccxt; allowed: v7, v7_3, coinm_v1, all",
        ),
        (
            _with("vendor", "crypto_chassis"),
            "invalid universe 'v7' in signature for vendor crypto_chassis; allowed: all",
        ),
        (_with("exchange_id", "ftx"), "allowed: binance, binanceus, okx, bybit, kraken, cryptocom"),
    ],
)
def test_invalid_signatures_name_the_token_and_the_choices(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        DatasetSignature.parse(text)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_every_token_has_allowed_values_except_universe() -> None:
    assert set(ALLOWED_VALUES) == set(TOKENS) - {"universe"}


def test_from_path_rejects_a_short_path() -> None:
    with pytest.raises(UsageError, match="not a dataset path"):
        DatasetSignature.from_path("/data/v3/periodic_daily/airflow")
