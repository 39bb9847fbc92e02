"""CLI commands for the payment status sent back to Basware: sync now, and how often beat syncs."""

from __future__ import annotations

import argparse
from typing import Any

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
