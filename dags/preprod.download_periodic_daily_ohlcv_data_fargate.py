"""Daily 1-minute OHLCV of the previous UTC day on ECS Fargate (upstream's tutorial DAG)."""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
    ],
    runner="ecs",
)
