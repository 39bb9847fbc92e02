"""`ml-connector`: the operator's command line. Its shape is a contract: operators script it.

The CLI is an edge like the receiver and the workers: each command gets a `Context` whose Services are built
for that command and closed after it; the few commands that serve the webhook app or enqueue chains import
those packages when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from connector.errors import ConnectorError
from connector.sync.services import Services
from ml_connector.commands import admin, core, fitcheck, grants, orders, reconcile
from ml_connector.commands import mappings as mapping_commands
from ml_connector.commands import records as record_commands
from ml_connector.context import Context

Handler = Callable[[argparse.Namespace, Context], int]


def main(argv: Sequence[str] | None = None, *, services: Services | None = None) -> int:
    """Parse the command line, run the command, turn connector errors into a message and exit code 1.

    `services` lets a caller that already holds Services (a test) run commands on them; by default each
    command builds its own from the environment.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    context = Context(services)
    try:
        return int(args.handler(args, context))
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        context.close()


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each area of commands registers its own sub-commands."""
    parser = argparse.ArgumentParser(prog="ml-connector", description="Basware to Exact Online connector")
    sub = parser.add_subparsers(metavar="COMMAND")
    for area in (core, grants, record_commands, mapping_commands, orders, admin, reconcile, fitcheck):
        area.register(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
