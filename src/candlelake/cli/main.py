"""The `candlelake` command: every sub-command delegates to library code."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="candlelake",
    help="Keep a complete, verified lake of crypto market candles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount_subapps() -> None:
    # Sub-apps are imported here so that `candlelake --help` stays cheap and a
    # missing optional extra only breaks its own command.
    from candlelake.simulator.cli import app as sim_app

    app.add_typer(sim_app, name="sim", help="Run the Binance-compatible exchange simulator.")


def main() -> None:
    _mount_subapps()
    app()


if __name__ == "__main__":
    main()
