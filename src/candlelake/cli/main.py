"""The `candlelake` command: every sub-command delegates to library code."""

from __future__ import annotations

import sys

import click
import typer

from candlelake.errors import UsageError

app = typer.Typer(
    name="candlelake",
    help="Keep a complete, verified lake of crypto market candles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported here so that `import candlelake` stays light and an optional extra
    # that is missing only breaks its own command.
    from candlelake.cli import airflow_commands, catalog, download
    from candlelake.simulator.cli import app as sim_app

    download.register(app)
    catalog.register(app)
    airflow_commands.register(app)
    app.add_typer(sim_app, name="sim", help="Run the Binance-compatible exchange simulator.")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; usage errors print one line and exit 2, as click does for bad flags."""
    _register_commands()
    command = typer.main.get_command(app)
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising.
        result = command.main(args=argv, prog_name="candlelake", standalone_mode=False)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
