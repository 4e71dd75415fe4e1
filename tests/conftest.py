"""Shared pytest fixtures live in tests/fixtures/ and are registered here."""

pytest_plugins: list[str] = [
    "fixtures.simulator",
    "fixtures.s3",
    "fixtures.smtp",
    "fixtures.telegram",
    "fixtures.airflow_home",
    "fixtures.ecs",
]
