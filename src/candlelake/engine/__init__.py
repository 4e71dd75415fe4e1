"""The download engine: plan, fetch through a source, sink each finished day (see run.py)."""

from candlelake.engine.run import download

__all__ = ["download"]
