"""Daily derivative series of the previous UTC day: mark price klines and funding rates of USD-M
and COIN-M perpetuals, and COIN-M 1-minute klines."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("binance", "binance", "futures", "mark_price", "v7.3"),
        ("binance", "binance", "futures", "funding_rate", "v7.3"),
        # COIN-M (vendor binance only): the perpetual contracts of universe coinm_v1.
        ("binance", "binance", "coin_futures", "ohlcv", "coinm_v1"),
        ("binance", "binance", "coin_futures", "mark_price", "coinm_v1"),
        ("binance", "binance", "coin_futures", "funding_rate", "coinm_v1"),
    ],
)
