"""Bundled data files of the simulator (see README.md)."""
