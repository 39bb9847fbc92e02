"""`ml-connector`: the operator's command line. Its shape is a contract: operators script it.

The CLI is an edge like the receiver and the workers: it wires the layers together, so the few commands
that serve the webhook app or enqueue chains import those packages when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from connector.errors import ConnectorError
from connector.sync.services import Services

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn connector errors into a message and exit code 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each area of commands registers its own sub-commands."""
    from connector.commands import admin, core, grants, orders
    from connector.commands import mappings as mapping_commands
    from connector.commands import records as record_commands

    parser = argparse.ArgumentParser(prog="ml-connector", description="Basware to Exact Online connector")
    sub = parser.add_subparsers(metavar="COMMAND")
    for area in (core, grants, record_commands, mapping_commands, orders, admin):
        area.register(sub)
    return parser


def services() -> Services:
    """The process's services (settings from the environment)."""
    from connector.sync.services import services as get

    return get()


def print_json(value: Any) -> None:
    """JSON on stdout, Decimals as strings."""
    print(json.dumps(value, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain text table, columns as wide as their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    raise SystemExit(main())
