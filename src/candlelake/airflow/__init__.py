"""Airflow 3 integration (extra ``candlelake[airflow]``).

Only the modules ``factory``, ``runners``, ``notifiers`` and ``backfill`` import Airflow;
``settings``, ``command`` and ``demo`` import without it, so the CLI can explain what is
missing instead of failing with an ImportError.
"""
