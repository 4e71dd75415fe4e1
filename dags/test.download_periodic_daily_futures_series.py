"""Daily USD-M derivative series of the previous UTC day: mark price klines and funding rates."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("binance", "binance", "futures", "mark_price", "v7.3"),
        ("binance", "binance", "futures", "funding_rate", "v7.3"),
    ],
)
