"""QA of the daily download: runs when the download DAG's datasets are updated (Airflow Assets)."""

from candlelake.airflow.qa_dag import build_qa_dag

dag = build_qa_dag(
    __file__,
    jobs=[
        # The download DAG's jobs: (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
    ],
)
