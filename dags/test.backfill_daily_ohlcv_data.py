"""Manual backfill of the daily 1-minute OHLCV dataset: trigger with params start and end."""

from candlelake.airflow.backfill import build_backfill_dag

dag = build_backfill_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
    ],
)
