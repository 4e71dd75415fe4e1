"""The Airflow Asset each download task produces: one per (stage, dataset signature).

The download DAG declares them as task outlets, so a successful download records an asset
event; the QA DAG (airflow/qa_dag.py) is scheduled on them. The lake URL may be a template
rendered only at run time, so the asset is named by the stage and the signature, which are
known when the DAG file is parsed.
"""

from __future__ import annotations

from airflow.sdk import Asset

from candlelake.airflow.settings import Job, Stage, StageSettings, action_tag_for
from candlelake.signature import DatasetSignature, universe_token

ASSET_SCHEME = "x-candlelake"  # Airflow leaves `x-` schemes to users


def job_signature(settings: StageSettings, job: Job) -> str:
    """The dotted signature of the dataset a job writes."""
    return str(
        DatasetSignature(
            download_mode=settings.download_mode,
            downloading_entity=settings.downloading_entity,
            action_tag=action_tag_for(job, settings.action_tag),
            data_format=settings.data_format,
            data_type=job.data_type,
            asset_type=job.contract,
            universe=universe_token(job.universe),
            vendor=job.vendor,
            exchange_id=job.exchange,
            version=settings.version or "v1_0_0",
        )
    )


def dataset_asset(stage: Stage, settings: StageSettings, job: Job) -> Asset:
    """`x-candlelake://<stage>/<signature>`."""
    signature = job_signature(settings, job)
    return Asset(name=f"candlelake.{stage}.{signature}", uri=f"{ASSET_SCHEME}://{stage}/{signature}")
