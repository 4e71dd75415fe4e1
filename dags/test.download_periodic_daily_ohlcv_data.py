"""Daily 1-minute OHLCV of the previous UTC day: the tutorial's two jobs, local runner."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
    ],
)
