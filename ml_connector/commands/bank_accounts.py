"""CLI commands for bank accounts waiting for a person: `vendors pending NAME`, `vendors approve ID`, `reject ID`.

The approver named in the audit is the operating-system user running the command.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from connector.store import bank_changes, tenants
from connector.sync import bank_approvals
from connector.views import when
from ml_connector.context import Context, print_table


def vendors_pending(args: argparse.Namespace, ctx: Context) -> int:
    """The tenant's bank accounts waiting for approval: which supplier, which IBAN, since when."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    waiting = bank_changes.pending(svc.db, tenant.id)
    if not waiting:
        print(f"no bank account of tenant {tenant.name} is waiting for approval")
        return 0
    rows = [(c.id, c.vendor_code, c.account_label, c.iban, c.bic, when(c.requested_at)) for c in waiting]
    print_table(("ID", "BASWARE VENDOR", "EXACT SUPPLIER", "IBAN", "BIC", "ASKED"), rows)
    return 0


def vendors_approve(args: argparse.Namespace, ctx: Context) -> int:
    """Write the bank account to the Exact supplier, naming this OS user as the approver."""
    print(bank_approvals.approve(ctx.services, args.id, getpass.getuser()))
    return 0


def vendors_reject(args: argparse.Namespace, ctx: Context) -> int:
    """Close the request without touching Exact, naming this OS user as the one who rejected it."""
    print(bank_approvals.reject(ctx.services, args.id, getpass.getuser()))
    return 0


def register(vendors: Any) -> None:
    """Add these actions to the `ml-connector vendors` sub-commands."""
    pending = vendors.add_parser("pending", help="bank accounts of existing suppliers waiting for approval")
    pending.add_argument("name", help="tenant name")
    pending.set_defaults(handler=vendors_pending)
    for action, handler, what in (
        ("approve", vendors_approve, "add the bank account to the Exact supplier"),
        ("reject", vendors_reject, "refuse the bank account; Exact is not changed"),
    ):
        command = vendors.add_parser(action, help=what)
        command.add_argument("id", type=int, help="the change's ID, as `vendors pending` lists it")
        command.set_defaults(handler=handler)
