"""CLI commands for purchase orders, vendor master data and polling: `vendors sync`, `orders list`, `poll`."""

from __future__ import annotations

import argparse
from typing import Any

from connector.store import records, tenants
from connector.sync import polling, vendor_sync
from connector.views import when
from ml_connector.commands import bank_accounts
from ml_connector.context import Context, print_json, print_table

MARKS = {"created": "+", "updated": "~", "unchanged": "=", "skipped": "!", "suggested": "?"}


def vendors_sync(args: argparse.Namespace, ctx: Context) -> int:
    """Sync one tenant's vendors now, whatever its interval: a line per vendor, then a summary."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    scope = "every vendor" if args.full else "vendors changed since the last run"
    print(f"syncing {scope} of tenant {tenant.name} from Basware to Exact ...")
    count = 0

    def progress(code: str, outcome: str, detail: str) -> None:
        nonlocal count
        count += 1
        if outcome != "unchanged" or detail or args.verbose:  # a detail: a bank account awaits approval
            print(f"  {count:>5} {MARKS.get(outcome, '?')} {code:<20} {outcome:<9} {detail}"[:160].rstrip())

    result = vendor_sync.sync_tenant(svc, tenant, full=args.full, progress=progress)
    print(f"done: {result.summary()}")
    return 0


def orders_list(args: argparse.Namespace, ctx: Context) -> int:
    """Purchase order records, optionally of one tenant and status."""
    svc = ctx.services
    tenant_id = tenants.get_tenant(svc.db, args.tenant).id if args.tenant else None
    found = records.list_records(svc.db, tenant_id=tenant_id, status=args.status, kind="purchase_order")
    if args.json:
        print_json([{"id": r.id, "tenant": name, "order": r.reference, "basware_id": r.basware_id,
                         "status": r.status, "acknowledged": r.reported == "acknowledged",
                         "exact_order": r.exact_number, "reason": r.reason, "updated_at": when(r.updated_at)}
                        for r, name in found])  # fmt: skip
        return 0
    rows = [
        (
            r.id,
            name,
            r.reference or r.basware_id,
            r.supplier,
            r.gross,
            r.status,
            r.exact_number or (r.reason or "")[:70],
        )
        for r, name in found
    ]
    print_table(["id", "tenant", "order", "supplier", "amount", "status", "exact order / reason"], rows)
    return 0


def poll(args: argparse.Namespace, ctx: Context) -> int:
    """Look for waiting Basware documents of one tenant now and start a chain for each new one."""
    from workers.tasks import start_chain

    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    result = polling.poll_tenant(svc, tenant, start_chain)
    print(f"{result.waiting} waiting in Basware, {len(result.new)} new record(s) started: {result.new or '-'}")
    return 0


def register(sub: Any) -> None:
    """Add this area's sub-commands to the `ml-connector` parser."""
    vendors = sub.add_parser("vendors", help="vendor master data").add_subparsers(metavar="ACTION")
    sync = vendors.add_parser("sync", help="bring Exact suppliers in line with Basware vendors now")
    sync.add_argument("name", help="tenant name")
    sync.add_argument("--full", action="store_true", help="every vendor, not only those changed since the last run")
    sync.add_argument("--verbose", action="store_true", help="also list vendors that needed no change")
    sync.set_defaults(handler=vendors_sync)
    bank_accounts.register(vendors)

    orders = sub.add_parser("orders", help="purchase order records").add_subparsers(metavar="ACTION")
    listing = orders.add_parser("list", help="list purchase order records")
    listing.add_argument("--tenant")
    listing.add_argument("--status", choices=list(records.STATUSES))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=orders_list)

    polling_cmd = sub.add_parser("poll", help="pick up Basware documents whose notification never arrived")
    polling_cmd.add_argument("name", help="tenant name")
    polling_cmd.set_defaults(handler=poll)
