"""The ``candlelake download-bulk`` argv of one job, as a list (never a shell string).

The DAG builds a typed :class:`~candlelake.bulk.BulkRequest` from a job and the stage's
settings, which checks the job's values when the DAG file is parsed, and renders its argv.

Arguments end up in Airflow *templated* fields, so a literal value that happens to contain
Jinja syntax (or ends like a template file name, e.g. ``.json``) would be rendered or loaded
as a template. :func:`literal` protects such values; only the window is a template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from candlelake.airflow.settings import Job, StageSettings, action_tag_for
from candlelake.bulk import BulkRequest
from candlelake.errors import UsageError

# The window is the UTC day before the run's logical date (a run without one, e.g. a REST
# trigger with ``logical_date: null``, uses its run_after): `[D-1 00:00, D-1 23:59]`. Not
# the data interval, because `airflow dags trigger --logical-date X` computes the interval
# from run_after=now while REST computes it from X (docs/airflow.md, "The window"). Plain
# Jinja over stdlib datetimes (dag_run's fields are not pendulum objects).
_RUN_DAY = (
    "macros.datetime.utcfromtimestamp((dag_run.logical_date or dag_run.run_after).timestamp())"
    ".replace(hour=0, minute=0, second=0, microsecond=0)"
)
_ISO_UTC = "'%Y-%m-%dT%H:%M:%S+00:00'"
WINDOW_START_TEMPLATE = f"{{{{ ({_RUN_DAY} - macros.timedelta(days=1)).strftime({_ISO_UTC}) }}}}"
WINDOW_END_TEMPLATE = f"{{{{ ({_RUN_DAY} - macros.timedelta(minutes=1)).strftime({_ISO_UTC}) }}}}"


def previous_day(moment: dt.datetime) -> dt.date:
    """The UTC day a run at ``moment`` downloads (what the templates above render)."""
    return moment.astimezone(dt.UTC).date() - dt.timedelta(days=1)


# Extensions that some operators treat as "load this template file" (Docker: .sh/.bash/.env,
# Kubernetes: .yaml/.yml/.json); the superset keeps any runner safe.
_TEMPLATE_EXTS = (".sh", ".bash", ".env", ".yaml", ".yml", ".json", ".sql", ".txt", ".j2")
_JINJA_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def literal(value: str) -> str:
    """Return ``value`` so that Jinja renders it back to exactly ``value``.

    Values without Jinja markers or template-file endings are returned unchanged.
    """
    if not any(m in value for m in _JINJA_MARKERS) and not value.endswith(_TEMPLATE_EXTS):
        return value
    if "endraw" in value:
        raise ValueError(f"value {value!r} cannot be passed literally through Jinja")
    return "{% raw %}" + value + "{% endraw %}"


@dataclass(frozen=True)
class WindowArgs:
    """The `--start_timestamp` and `--end_timestamp` of a command (end inclusive), as ISO
    strings or templates rendering to them; the engine's window is `timeutil.Window`."""

    start: str
    end: str

    @classmethod
    def from_logical_date(cls) -> WindowArgs:
        """The window rendered at run time from the run's logical date (or run_after)."""
        return cls(start=WINDOW_START_TEMPLATE, end=WINDOW_END_TEMPLATE)

    @classmethod
    def day(cls, day: dt.date) -> WindowArgs:
        """The literal window of one UTC day, ``[D 00:00, D 23:59]``."""
        start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)
        end = start + dt.timedelta(days=1, minutes=-1)
        return cls(start=start.isoformat(), end=end.isoformat())


def _same(value: str) -> str:
    return value


def lake_destination(lake_url: str) -> tuple[str | None, str | None]:
    """(``s3_path``, ``dst_dir``): the first for object-store URLs (templates allowed), the
    second for local paths."""
    if lake_url.startswith("file://"):
        return None, lake_url[len("file://") :]
    if "://" in lake_url:
        # A templated URL such as s3://{{ var.value.x }} must stay a template.
        return lake_url, None
    return None, lake_url


def bulk_request(job: Job, window: WindowArgs, settings: StageSettings) -> BulkRequest:
    """The typed request of one job; raises UsageError naming a bad job value."""
    s3_path, dst_dir = lake_destination(settings.lake_url)
    try:
        return BulkRequest(
            download_mode=settings.download_mode,
            downloading_entity=settings.downloading_entity,
            action_tag=action_tag_for(job, settings.action_tag),
            vendor=job.vendor,  # type: ignore[arg-type]  # checked by BulkRequest
            exchange_id=job.exchange,  # type: ignore[arg-type]
            universe=job.universe,
            data_type=job.data_type,  # type: ignore[arg-type]
            contract_type=job.contract,  # type: ignore[arg-type]
            data_format=settings.data_format,
            start_timestamp=window.start,
            end_timestamp=window.end,
            s3_path=s3_path,
            dst_dir=dst_dir,
            version=settings.version or BulkRequest.version,
            aws_profile=settings.aws_profile,
            assert_on_missing_data=settings.assert_on_missing_data,
            log_level=settings.log_level or BulkRequest.log_level,
        )
    except UsageError as exc:
        raise UsageError(f"job {job}: {exc}") from None


def download_bulk_args(
    job: Job, window: WindowArgs, settings: StageSettings, *, escape: bool = True
) -> list[str]:
    """Arguments after ``download-bulk`` for one job; window strings are kept as given.

    ``escape=False`` is for arguments that will not pass through Jinja (mapped XCom values).
    """
    lit = literal if escape else _same
    args = bulk_request(job, window, settings).to_argv(lit)
    return args + [lit(str(a)) for a in settings.extra_args]
