"""Render the CLI reference in docs/cli.md from the real commands, so the docs cannot drift.

uv run python -m candlelake.cli.reference --write docs/cli.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

BEGIN = "<!-- BEGIN GENERATED REFERENCE -->"
END = "<!-- END GENERATED REFERENCE -->"


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    # Typer ships its own copy of click, so commands are matched by shape, not by class.
    out: list[tuple[str, Any]] = []
    ctx = group.context_class(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        full = f"{prefix} {name}"
        if hasattr(command, "list_commands"):
            out.extend(_commands(command, full))
        else:
            out.append((full, command))
    return out


def _type_name(param: Any) -> str:
    if getattr(param, "is_flag", False):
        return "flag"
    # Typer versions name the same click types differently ("str" or "text"); the docs use one.
    words = str(getattr(param.type, "name", "")).lower().strip("<>").split()
    return " ".join({"str": "text", "int": "integer"}.get(word, word) for word in words)


def render() -> str:
    from candlelake.cli.main import build_app

    root = typer.main.get_command(build_app())
    lines = [BEGIN, ""]
    for name, command in _commands(root, "candlelake"):
        lines += [f"### `{name}`", "", (command.help or "").strip().split("\n\n")[0], ""]
        lines += ["| option | type | default | help |", "|---|---|---|---|"]
        for param in command.params:
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                names = f"`{str(param.name).upper()}` (argument)"
            else:
                names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            default = "" if param.default in (None, False, ()) or param.required else f"`{param.default}`"
            if param.required:
                default = "required"
            help_text = (getattr(param, "help", None) or "").replace("|", "\\|")
            lines.append(f"| {names} | {_type_name(param)} | {default} | {help_text} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def replace_block(document: str, block: str) -> str:
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + block + tail


def main(argv: list[str]) -> int:
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        path.write_text(replace_block(path.read_text(), render()))
        return 0
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
