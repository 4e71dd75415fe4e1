"""Command-line interface (thin adapters over the library)."""
