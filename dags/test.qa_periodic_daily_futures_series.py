"""QA of the daily derivatives download (mark price, funding, COIN-M klines): runs when that
DAG's datasets are updated (Airflow Assets)."""

from candlelake.airflow.qa_dag import build_qa_dag

dag = build_qa_dag(
    __file__,
    jobs=[
        # The derivatives DAG's jobs: (vendor, exchange, contract, data_type, universe)
        ("binance", "binance", "futures", "mark_price", "v7.3"),
        ("binance", "binance", "futures", "funding_rate", "v7.3"),
        ("binance", "binance", "coin_futures", "ohlcv", "coinm_v1"),
        ("binance", "binance", "coin_futures", "mark_price", "coinm_v1"),
        ("binance", "binance", "coin_futures", "funding_rate", "coinm_v1"),
    ],
)
