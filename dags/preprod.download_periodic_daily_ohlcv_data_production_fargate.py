"""Daily 1-minute OHLCV of the previous UTC day: the four ccxt jobs of upstream's production DAG.

Binance spot v7 and USD-M futures v7.3 as in the tutorial, plus Binance.US spot v7 and OKX
USDT-margined perpetual swaps v7.3 (upstream.md §10). The runner (ECS Fargate for preprod) and
the exchanges' URL overrides (`CANDLELAKE_<EXCHANGE>_URL`) come from candlelake_dags.toml.
"""

from candlelake.airflow.factory import build_download_dag

dag = build_download_dag(
    __file__,
    jobs=[
        # (vendor, exchange, contract, data_type, universe)
        ("ccxt", "binance", "spot", "ohlcv", "v7"),
        ("ccxt", "binance", "futures", "ohlcv", "v7.3"),
        ("ccxt", "binanceus", "spot", "ohlcv", "v7"),
        ("ccxt", "okx", "futures", "ohlcv", "v7.3"),
    ],
)
