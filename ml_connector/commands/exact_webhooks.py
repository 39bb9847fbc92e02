"""CLI commands for Exact Online's own webhooks: `ml-connector exact webhooks subscribe|unsubscribe|list NAME`."""

from __future__ import annotations

import argparse
from typing import Any

from connector.store import tenants
from connector.sync import exact_webhooks
from ml_connector.context import Context, print_table


def webhooks_subscribe(args: argparse.Namespace, ctx: Context) -> int:
    """Subscribe every division of the tenant to Accounts, GLAccounts and PurchaseEntries."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    made = exact_webhooks.subscribe(svc, tenant)
    print(f"{len(made)} subscription(s) made for {tenant.exact_webhook_url}; the others were there already")
    return 0


def webhooks_unsubscribe(args: argparse.Namespace, ctx: Context) -> int:
    """Delete the tenant's subscriptions in every division."""
    svc = ctx.services
    gone = exact_webhooks.unsubscribe(svc, svc.tenant(tenants.get_tenant(svc.db, args.name).id))
    print(f"{len(gone)} subscription(s) deleted")
    return 0


def webhooks_list(args: argparse.Namespace, ctx: Context) -> int:
    """The tenant's subscriptions, division by division."""
    svc = ctx.services
    found = exact_webhooks.listed(svc, tenants.get_tenant(svc.db, args.name))
    print_table(["division", "topic", "callback", "id"], [(s.division, s.topic, s.callback_url, s.id) for s in found])
    return 0


def register(exact: Any) -> None:
    """Add `webhooks` under the `exact` command."""
    hooks = exact.add_parser("webhooks", help="Exact Online's webhooks").add_subparsers(metavar="ACTION")
    for action, handler, text in (
        ("subscribe", webhooks_subscribe, "subscribe every division to the topics the connector acts on"),
        ("unsubscribe", webhooks_unsubscribe, "delete the subscriptions"),
        ("list", webhooks_list, "list the subscriptions"),
    ):
        cmd = hooks.add_parser(action, help=text)
        cmd.add_argument("name")
        cmd.set_defaults(handler=handler)
