"""The `candlelake` command: every sub-command delegates to library code."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from candlelake.errors import CandlelakeError, UsageError


def _print_version(value: bool) -> None:
    if value:
        from candlelake import __version__

        typer.echo(f"candlelake {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """Keep a complete, verified lake of crypto market candles."""


# The commands each CLI module registers. A process registers only the module of the command
# it runs, since each costs its imports at start-up (the simulator's, its config parser); any
# other first argument (`--help`, a mistyped name) registers them all.
COMMANDS_OF: dict[str, tuple[str, ...]] = {
    "download": ("download", "download-bulk"),
    "catalog": ("signature", "universe", "show"),
    "qa": ("qa", "repair", "ls", "sql"),
    "airflow_commands": ("airflow", "demo"),
    "upstream_command": ("convert-upstream",),
    "sim": ("sim",),
}


def build_app(command: str | None = None) -> typer.Typer:
    """The CLI with the commands of `command`'s module, or with all (None or unknown)."""
    app = typer.Typer(
        name="candlelake",
        help="Keep a complete, verified lake of crypto market candles.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    # Imported here so that `import candlelake` stays light and an optional extra
    # that is missing only breaks its own command.
    known = any(command in names for names in COMMANDS_OF.values())
    for module, names in COMMANDS_OF.items():
        if known and command not in names:
            continue
        if module == "sim":
            from candlelake.simulator.cli import app as sim_app

            app.add_typer(sim_app, name="sim", help="Run the Binance-compatible exchange simulator.")
        else:
            importlib.import_module(f"candlelake.cli.{module}").register(app)
    return app


# typer may bring its own copy of click; its BadParameter derives from the UsageError and
# ClickException that its parser raises.
_CLICK_USAGE_ERROR: type[Any] = typer.BadParameter.__mro__[1]
_CLICK_EXCEPTION: type[Any] = _CLICK_USAGE_ERROR.__mro__[1]

# Commands whose process never hands pyarrow a pandas object (see cli/startup.py).
_NO_PANDAS_COMMANDS = ("download", "download-bulk")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; usage errors print one line and return 2.

    `argv=None` means this is the `candlelake` process itself, which may tune its own start-up.
    """
    args = sys.argv[1:]
    if argv is None and args[:1] and args[0] in _NO_PANDAS_COMMANDS and "--help" not in args:
        from candlelake.cli.startup import defer_pandas_probe, skip_teardown

        defer_pandas_probe()
        code = _run(argv, args)
        skip_teardown(code)
        return code
    return _run(argv, args)


def _run(argv: list[str] | None, args: list[str]) -> int:
    words = args if argv is None else argv
    command = typer.main.get_command(build_app(words[0] if words else None))
    try:
        # Not standalone: click's usage errors (an unknown flag, a missing option, a value out
        # of range) become one line here, like ours, instead of a usage block.
        code = command.main(args=argv, prog_name="candlelake", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _CLICK_USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
            return 2
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        return 2
    except _CLICK_EXCEPTION as exc:
        exc.show()
        return int(exc.exit_code)
    except typer.Abort:
        return 130
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CandlelakeError as exc:
        # An expected failure (no network, a ban, ...): one line, not a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
