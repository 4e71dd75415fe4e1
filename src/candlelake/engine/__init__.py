"""The download engine: plan, fetch through a source, sink each finished day (see run.py);
funding settlements per month (funding.py)."""

from __future__ import annotations

from candlelake.engine.run import download as download_klines
from candlelake.job import DownloadJob
from candlelake.progress import Progress
from candlelake.quality.report import RunReport

__all__ = ["download"]


async def download(job: DownloadJob, *, progress: Progress | None = None) -> RunReport:
    """Run one download job: klines day by day, or funding settlements month by month."""
    if job.data_type == "funding_rate":
        # Imported here: a kline run does not load the funding path and its archive reader.
        from candlelake.engine.funding import download_funding

        return await download_funding(job, progress)
    return await download_klines(job, progress=progress)
