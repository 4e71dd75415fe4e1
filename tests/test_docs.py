"""Docs that are generated from code must match the code."""

from pathlib import Path

from candlelake.cli.reference import BEGIN, END, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_cli_reference_in_docs_matches_the_commands():
    text = (DOCS / "cli.md").read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == render(), "run: uv run python -m candlelake.cli.reference --write docs/cli.md"
