"""The Airflow Asset each download task produces: one per (stage, dataset signature).

The download DAG declares them as task outlets, so a successful download records an asset
event; the QA DAG (airflow/qa_dag.py) is scheduled on them. The lake URL may be a template
rendered only at run time, so the asset is named by the stage and the signature, which are
known when the DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk import Asset

from candlelake.airflow.command import WindowArgs, bulk_request
from candlelake.airflow.settings import Job, Stage, StageSettings

ASSET_SCHEME = "x-candlelake"  # Airflow leaves `x-` schemes to users


def job_signature(settings: StageSettings, job: Job) -> str:
    """The dotted signature of the dataset a job writes."""
    return str(bulk_request(job, WindowArgs.from_logical_date(), settings).signature())


def dataset_asset(stage: Stage, settings: StageSettings, job: Job) -> Asset:
    """`x-candlelake://<stage>/<signature>`."""
    signature = job_signature(settings, job)
    return Asset(name=f"candlelake.{stage}.{signature}", uri=f"{ASSET_SCHEME}://{stage}/{signature}")
