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
    """The whole command tree."""
    from connector import commands

    parser = argparse.ArgumentParser(prog="ml-connector", description="Basware to Exact Online connector")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=commands.db_upgrade)

    tenant = sub.add_parser("tenant", help="register and inspect tenants").add_subparsers(metavar="ACTION")
    add = tenant.add_parser("add", help="register a tenant")
    add.add_argument("name")
    for flag in ("exact-region", "exact-client-id", "exact-client-secret", "exact-redirect-uri", "basware-region",
                 "basware-client-id", "basware-client-secret", "webhook-secret", "purchase-journal"):
        add.add_argument(f"--{flag}", required=True)
    add.add_argument("--exact-base-url")
    add.add_argument("--basware-base-url")
    add.add_argument("--auto-create-vendors", action=argparse.BooleanOptionalAction, default=False)
    add.set_defaults(handler=commands.tenant_add)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=commands.tenant_list)
    show = tenant.add_parser("show", help="one tenant, without secrets")
    show.add_argument("name")
    show.set_defaults(handler=commands.tenant_show)

    exact = sub.add_parser("exact", help="Exact Online grant").add_subparsers(metavar="ACTION")
    auth = exact.add_parser("authorize", help="consent in a browser, or exchange a pasted code")
    auth.add_argument("name")
    auth.add_argument("--code", help="an authorization code pasted from the redirect")
    auth.add_argument("--division", type=int, help="pin a division instead of the user's current one")
    auth.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the callback")
    auth.set_defaults(handler=commands.exact_authorize)

    ping = sub.add_parser("ping", help="check both systems with the stored credentials")
    ping.add_argument("name")
    ping.set_defaults(handler=commands.ping)

    rec = sub.add_parser("records", help="records and their status").add_subparsers(metavar="ACTION")
    lst = rec.add_parser("list", help="list records")
    lst.add_argument("--tenant")
    lst.add_argument("--status", choices=["pending", "written", "blocked", "waiting_for_reauth", "failed"])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=commands.records_list)
    one = rec.add_parser("show", help="one record with its problems and audit trail")
    one.add_argument("id", type=int)
    one.add_argument("--json", action="store_true")
    one.set_defaults(handler=commands.records_show)

    replay = sub.add_parser("replay", help="re-run blocked or failed records from the first unfinished step")
    replay.add_argument("id", type=int, nargs="?")
    replay.add_argument("--blocked", action="store_true", help="every blocked record of --tenant")
    replay.add_argument("--tenant")
    replay.set_defaults(handler=commands.replay)

    status = sub.add_parser("status", help="tenants, grant health and record counts")
    status.set_defaults(handler=commands.status)

    keys = sub.add_parser("keys", help="encryption keys for secrets at rest").add_subparsers(metavar="ACTION")
    keys.add_parser("generate", help="print a new key").set_defaults(handler=commands.keys_generate)
    keys.add_parser("rotate", help="re-encrypt stored secrets with the first key").set_defaults(
        handler=commands.keys_rotate)

    receiver = sub.add_parser("receiver", help="serve the webhook receiver (development server)")
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=8000)
    receiver.set_defaults(handler=commands.receiver)

    demo = sub.add_parser("demo", help="run the whole flow against the sandboxes and print the outcome")
    demo.add_argument("--invoices", type=int, default=6, help="how many clean invoices to send")
    demo.set_defaults(handler=commands.demo)

    sandbox = sub.add_parser("sandbox", help="serve the Exact Online and Basware sandboxes")
    sandbox.add_argument("--exact-port", type=int, default=8101)
    sandbox.add_argument("--basware-port", type=int, default=8102)
    sandbox.set_defaults(handler=commands.sandbox)
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
