"""The people's view of a QA report and of SQL results: rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from candlelake.quality.accounting import CATEGORIES
from candlelake.quality.qa import QaReport

if TYPE_CHECKING:
    import pyarrow as pa

_STYLE = {"fail": "bold red", "flag": "yellow"}


def _console(table: Table) -> Console:
    console = Console()
    if not console.is_terminal:
        # Piped output has no width to respect: never squeeze or cut the values.
        wide = console.options.update_width(100_000)
        console = Console(width=console.measure(table, options=wide).maximum)
    return console


def print_report(report: QaReport) -> None:
    """Per symbol: days (months) by state, rows and missing bars by reason; then every finding."""
    part = "months" if report.monthly else "days"
    title = f"{report.dataset} {report.first_day}..{report.last_day}: missing {report.unit} by reason"
    summary = Table(title=title, header_style="bold")
    for name in ("symbol", part, "complete", "explained", "problem", "rows", *CATEGORIES):
        summary.add_column(name, justify="left" if name == "symbol" else "right", no_wrap=True)
    for symbol in report.symbols():
        days = [d for d in report.days if d.symbol == symbol]
        missing = {c: sum(d.account.bars.get(c, 0) for d in days) for c in CATEGORIES}
        states = [d.state for d in days]
        bad = len(days) - states.count("complete") - states.count("explained")
        summary.add_row(
            symbol,
            str(len(days)),
            str(states.count("complete")),
            str(states.count("explained")),
            f"[red]{bad}[/red]" if bad else "0",
            str(sum(d.account.rows for d in days)),
            *(str(missing[c]) for c in CATEGORIES),
        )
    console = _console(summary)
    console.print(summary)
    for finding in report.findings:
        console.print(f"[{_STYLE[finding.severity]}]{finding.severity.upper()}[/] {finding}", highlight=False)
    verdict = "[green]OK[/green]" if report.ok else f"[red]{len(report.failures)} problem(s)[/red]"
    console.print(
        f"{verdict}: {len(report.days)} symbol-{part} ({report.from_ledger} from the ledger, "
        f"{report.from_files} read from files)"
    )


def print_arrow_table(table: pa.Table) -> None:
    """Any Arrow table, all columns as text."""
    if table.num_rows == 0:
        Console().print("no rows")
        return
    view = Table(box=None, header_style="bold")
    for name in table.column_names:
        view.add_column(name, no_wrap=True)
    columns = [table.column(name).to_pylist() for name in table.column_names]
    for i in range(table.num_rows):
        view.add_row(*("" if col[i] is None else str(col[i]) for col in columns))
    console = _console(view)
    console.print(view)
    console.print(f"{table.num_rows} rows")
