"""CLI commands about the Exact grant and secrets at rest: authorize, status, keys."""

from __future__ import annotations

import argparse
import time
from typing import Any

from connector.crypto import generate_key
from connector.store import basware_tokens, records, tenants, tokens
from connector.sync.services import Services
from connector.views import when
from ml_connector.commands import exact_webhooks
from ml_connector.context import Context, print_table


def exact_authorize(args: argparse.Namespace, ctx: Context) -> int:
    """Consent: exchange a pasted code, or print the URL and take the callback on the redirect URI."""
    from connector.sync import grants
    from ml_connector.consent import wait_for_callback
    from workers.tasks import start_chain

    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    if args.code:
        code = args.code
    else:
        url, state = grants.consent_url(svc, tenant)
        print(f"Open this URL and log in to Exact Online:\n\n  {url}\n")
        print(f"Waiting for the callback on {tenant.exact_redirect_uri} ...", flush=True)
        callback = wait_for_callback(tenant.exact_redirect_uri, timeout=args.timeout)
        code = grants.code_from_callback(callback, state)
    before = _waiting(svc, tenant.id)
    division = grants.complete_consent(svc, tenant, code, division=args.division, enqueue=start_chain)
    how = "pinned" if args.division is not None else "the consenting user's current division"
    print(f"tenant {tenant.name} authorized; Exact division {division} ({how})")
    if before:
        print(f"{before} records that waited for consent are on their way again")
    return 0


def _waiting(svc: Services, tenant_id: int) -> int:
    return len(records.list_records(svc.db, tenant_id=tenant_id, status="waiting_for_reauth"))


def status(_args: argparse.Namespace, ctx: Context) -> int:
    """Tenants with grant health, record counts, and what needs the operator."""
    from connector.sync import divisions, reminders

    svc = ctx.services
    rows, notes = [], []
    now = time.time()
    for tenant in tenants.list_tenants(svc.db):
        health = tokens.token_health(svc.db, tenant.id)
        counts = records.count_by_status(svc.db, tenant.id)
        grant = tenant.grant_status if tenant.grant_status != "dead" else f"DEAD: {tenant.grant_reason}"
        rows.append(
            (
                tenant.name,
                divisions.describe(svc.db, tenant),
                grant,
                when(health["refreshed_at"]),  # type: ignore[arg-type]
                health["token_calls"],
                " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-",
            )
        )
        warning = reminders.warning(svc, tenant, now)
        if warning:
            notes.append(f"! {warning} (last reminder: {when(reminders.last_sent(svc, tenant.id))})")
    print_table(["tenant", "divisions", "grant", "grant renewed", "token calls today", "records"], rows)
    for note in notes:
        print(note)
    _print_budgets(svc)
    return 0


def _print_budgets(svc: Any) -> None:
    """Exact's call budget per division and when the backlog will be through (see connector.sync.budget)."""
    from connector.errors import ConnectorError
    from connector.sync.budget import HEADERS, budget_report

    try:
        report = budget_report(svc)
    except ConnectorError as exc:  # the status must still print when Redis or the database hiccups
        print(f"\nExact call budget: unavailable ({exc})")
        return
    if report:
        print("\nExact call budget per division (at about one call per pending record):")
        print_table(HEADERS, [division.row() for division in report])


def keys_generate(_args: argparse.Namespace, _ctx: Context) -> int:
    """Print a new key for CONNECTOR_SECRET_KEY."""
    print(generate_key())
    return 0


def keys_rotate(_args: argparse.Namespace, ctx: Context) -> int:
    """Re-encrypt every stored secret with the first key of CONNECTOR_SECRET_KEY."""
    svc = ctx.services
    count = (
        tenants.reencrypt_secrets(svc.db, svc.box)
        + tokens.reencrypt_tokens(svc.db, svc.box)
        + basware_tokens.reencrypt_tokens(svc.db, svc.box)
    )
    print(f"{count} stored secrets re-encrypted with the first key; old keys may now be removed")
    return 0


def register(sub: Any) -> None:
    """Add this area's sub-commands to the `ml-connector` parser."""
    exact = sub.add_parser("exact", help="Exact Online grant").add_subparsers(metavar="ACTION")
    auth = exact.add_parser("authorize", help="consent in a browser, or exchange a pasted code")
    auth.add_argument("name")
    auth.add_argument("--code", help="an authorization code pasted from the redirect")
    auth.add_argument("--division", type=int, help="pin a division instead of the user's current one")
    auth.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the callback")
    auth.set_defaults(handler=exact_authorize)
    exact_webhooks.register(exact)

    status_cmd = sub.add_parser("status", help="tenants, grant health and record counts")
    status_cmd.set_defaults(handler=status)

    keys = sub.add_parser("keys", help="encryption keys for secrets at rest").add_subparsers(metavar="ACTION")
    keys.add_parser("generate", help="print a new key").set_defaults(handler=keys_generate)
    keys.add_parser("rotate", help="re-encrypt stored secrets with the first key").set_defaults(handler=keys_rotate)
