"""Docs that are generated from code must match the code."""

from pathlib import Path

from candlelake.cli.reference import BEGIN, END, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_cli_reference_in_docs_matches_the_commands():
    text = (DOCS / "cli.md").read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == render(), "run: uv run python -m candlelake.cli.reference --write docs/cli.md"


def test_bad_input_table_in_docs_matches_the_test_list():
    from reliability.bad_inputs import BEGIN as CASES_BEGIN
    from reliability.bad_inputs import END as CASES_END
    from reliability.bad_inputs import render as render_cases

    text = (DOCS / "reliability.md").read_text()
    block = text[text.index(CASES_BEGIN) : text.index(CASES_END) + len(CASES_END)]
    assert block == render_cases(), (
        "run: uv run python -m tests.reliability.bad_inputs --write docs/reliability.md"
    )
