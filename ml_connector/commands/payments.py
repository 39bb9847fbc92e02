"""CLI commands for the payment status sent back to Basware: sync now, and how often beat syncs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from connector import jsonutil
from connector.errors import ConfigurationError
from connector.store import tenants
from connector.sync import payments
from ml_connector.context import Context


def payments_sync(args: argparse.Namespace, ctx: Context) -> int:
    """Read what Exact paid since the last sync and tell Basware every payment state that changed."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    result = payments.sync_tenant_once(svc, tenant)
    if result is None:
        print(f"tenant {tenant.name}: a payment sync is running already; try again in a moment")
        return 1
    restarted = " (the division moved database: read from the start)" if result.restarted else ""
    print(
        f"tenant {tenant.name}: {result.terms_read} payment term(s) read, {result.deleted} deletion(s), "
        f"{result.reported} payment response(s) sent to Basware{restarted}"
    )
    return 0


def payments_interval(args: argparse.Namespace, ctx: Context) -> int:
    """Set how often beat syncs the tenant's payments (seconds; 0 = never)."""
    if args.seconds < 0:
        raise ConfigurationError("the interval is a number of seconds, 0 or more")
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    tenants.update_tenant(svc.db, tenant.id, payment_sync_interval=args.seconds)
    print(f"tenant {tenant.name}: payment_sync_interval={args.seconds}")
    return 0


def sandbox_pay(args: argparse.Namespace, _ctx: Context) -> int:
    """Record (or with --undo, undo) a payment on an entry in a running Exact sandbox, through its admin API."""
    import requests

    base = f"{args.exact_url.rstrip('/')}/_sandbox/purchase-entries/{args.entry_id}/payments"
    body: dict[str, Any] = {"division": args.division} if args.division else {}
    if not args.undo:
        given = (("amount", args.amount), ("date", args.date), ("reference", args.reference))
        body.update({name: value for name, value in given if value})
    response = requests.post(f"{base}/undo" if args.undo else base, json=body, timeout=10)
    if not response.ok:
        print(f"error: the sandbox refused: {response.json().get('error', response.text)}", file=sys.stderr)
        return 1
    term = jsonutil.loads(response.content)  # amounts keep their digits
    verb = "undone: open again" if args.undo else "matched"
    print(f"entry {args.entry_id}: payment term {term['ID']} {verb} {term['AmountFC']}")
    return 0


def register(sub: Any) -> None:
    """Add this area's sub-commands to the `ml-connector` parser."""
    pay = sub.add_parser("payments", help="payment status back to Basware").add_subparsers(metavar="ACTION")
    sync = pay.add_parser("sync", help="sync the tenant's payment status now")
    sync.add_argument("name")
    sync.set_defaults(handler=payments_sync)
    every = pay.add_parser("interval", help="seconds between beat's payment syncs for the tenant (0 = never)")
    every.add_argument("name")
    every.add_argument("seconds", type=int)
    every.set_defaults(handler=payments_interval)
    pay_cmd = pay.add_parser("sandbox-pay", help="record a payment in a running Exact sandbox (ml-connector sandbox)")
    pay_cmd.add_argument("entry_id", help="the Exact EntryID (records show --json: exact_id)")
    pay_cmd.add_argument("--amount", help="how much was paid (default: all that is open)")
    pay_cmd.add_argument("--date", help="payment date YYYY-MM-DD (default: today)")
    pay_cmd.add_argument("--reference", help="the payment reference")
    pay_cmd.add_argument("--undo", action="store_true", help="undo the latest payment match instead")
    pay_cmd.add_argument("--division", type=int, help="the sandbox division (default: its first)")
    pay_cmd.add_argument("--exact-url", default="http://127.0.0.1:8101", help="the Exact sandbox's address")
    pay_cmd.set_defaults(handler=sandbox_pay)
