"""CLI commands for setting up and running: db, tenant, ping, health, receiver, demo, sandbox.

Every command takes the parsed arguments and the command's `Context` (its Services), and returns an exit code.
"""

from __future__ import annotations

import argparse
from typing import Any

from connector.errors import ConfigurationError, ConnectorError
from connector.store import state, tenants, tokens
from connector.sync import divisions
from connector.views import when
from ml_connector.context import Context, print_table
from ml_connector.secret_input import RefuseSecretArgument, SecretReader, generate_webhook_secret


def db_upgrade(_args: argparse.Namespace, ctx: Context) -> int:
    """Create or upgrade the schema."""
    db = ctx.services.db
    applied = db.upgrade()
    print(f"database at version {db.current_version()}" + (f" (applied {applied})" if applied else " (up to date)"))
    return 0


def tenant_add(args: argparse.Namespace, ctx: Context) -> int:
    """Register a tenant; secrets are read from the environment, stdin or a prompt, and encrypted."""
    reader = SecretReader(from_stdin=args.secrets_from_stdin)
    exact_secret, basware_secret = reader.read("exact_client_secret"), reader.read("basware_client_secret")
    webhook_secret = generate_webhook_secret() if args.generate_webhook_secret else reader.read("webhook_secret")
    svc = ctx.services
    webhook_url = reader.read("notify_webhook_url") if args.notify_webhook_url else None
    tenant = tenants.add_tenant(
        svc.db,
        svc.box,
        name=args.name,
        exact_region=args.exact_region,
        exact_base_url=args.exact_base_url,
        exact_client_id=args.exact_client_id,
        exact_client_secret=exact_secret,
        exact_redirect_uri=args.exact_redirect_uri,
        basware_region=args.basware_region,
        basware_base_url=args.basware_base_url,
        basware_client_id=args.basware_client_id,
        basware_client_secret=basware_secret,
        webhook_secret=webhook_secret,
        purchase_journal=args.purchase_journal,
        auto_create_vendors=args.auto_create_vendors,
        notify_webhook_url=webhook_url,
        **_settings(args),
    )
    print(f"tenant {tenant.name} added; next: ml-connector exact authorize {tenant.name}")
    if args.generate_webhook_secret:
        _show_generated(webhook_secret)
    return 0


def _show_generated(secret: str) -> None:
    print(f"webhook secret (shown once; give it to Basware as the subscription's webhookAuthenticationToken): {secret}")


SETTING_OPTIONS = {
    "cost_unit_field": str,
    "default_item": str,
    "poll_interval": int,
    "vendor_sync_interval": int,
    "notify_email": str,
    "exact_webhook_url": str,
}


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name, None) is not None}


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cost-unit-field", help="Basware coding dimension used as Exact cost unit (projectCode)")
    parser.add_argument("--default-item", help="Exact item code for free-text purchase order lines")
    parser.add_argument("--poll-interval", type=int, help="seconds between polls of Basware (0 = never)")
    parser.add_argument("--vendor-sync-interval", type=int, help="seconds between vendor syncs (0 = never)")
    parser.add_argument("--notify-email", help="where re-consent reminders are e-mailed")
    parser.add_argument(
        "--notify-webhook-url",
        action="store_true",
        help="set a chat incoming-webhook URL for reminders (read, never an argument)",
    )
    parser.add_argument("--exact-webhook-url", help="our public URL for Exact's webhooks (/webhooks/exact/NAME)")


def tenant_set(args: argparse.Namespace, ctx: Context) -> int:
    """Change a tenant's settings, and rotate its secrets (read from the environment, stdin or a prompt)."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    values = _settings(args)
    for name in ("purchase_journal", "auto_create_vendors", "exact_division"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    changed = _set_secrets(args, ctx, tenant.id)
    if not values and not changed:
        raise ConfigurationError("nothing to change: give at least one option")
    if values:
        tenants.update_tenant(svc.db, tenant.id, **values)
    print(f"tenant {tenant.name}: " + ", ".join([*changed, *(f"{k}={v}" for k, v in values.items())]))
    return 0


def _set_secrets(args: argparse.Namespace, ctx: Context, tenant_id: int) -> list[str]:
    """Replace the client secrets and rotate the webhook secret as asked; names what changed (never values)."""
    svc, reader, changed = ctx.services, SecretReader(from_stdin=args.secrets_from_stdin), []
    for name in ("exact_client_secret", "basware_client_secret"):
        if getattr(args, name):
            tenants.set_client_secret(svc.db, svc.box, tenant_id, name, reader.read(name))
            changed.append(f"{name} replaced")
    if args.notify_webhook_url:
        url = reader.read("notify_webhook_url")
        tenants.set_notify_webhook_url(svc.db, svc.box, tenant_id, url)
        changed.append(f"chat webhook set (host {tenants.host_of(url)})")
    if getattr(args, "exact_webhook_secret", False):
        tenants.set_exact_webhook_secret(svc.db, svc.box, tenant_id, reader.read("exact_webhook_secret"))
        changed.append("exact_webhook_secret replaced")
    if args.webhook_secret or args.generate_webhook_secret:
        new = generate_webhook_secret() if args.generate_webhook_secret else reader.read("webhook_secret")
        until = tenants.rotate_webhook_secret(svc.db, svc.box, tenant_id, new, overlap=args.overlap_days * 86400)
        changed.append(f"webhook secret rotated (the previous one is accepted until {when(until)})")
        if args.generate_webhook_secret:
            _show_generated(new)
    return changed


def _add_secret_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secrets-from-stdin", action="store_true", help="read name=value lines (e.g. webhook_secret=...) from stdin"
    )
    parser.add_argument(
        "--generate-webhook-secret", action="store_true", help="make a strong webhook secret and show it once"
    )


def tenant_list(_args: argparse.Namespace, ctx: Context) -> int:
    """One line per tenant."""
    rows = [
        (t.name, t.exact_region, t.exact_division or "-", t.basware_region, t.grant_status)
        for t in tenants.list_tenants(ctx.services.db)
    ]
    print_table(["tenant", "exact region", "division", "basware region", "grant"], rows)
    return 0


def tenant_show(args: argparse.Namespace, ctx: Context) -> int:
    """Everything about a tenant but its secrets."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    info = tenant.public()
    health = tokens.token_health(svc.db, tenant.id)
    info["grant_renewed_at"] = when(health["refreshed_at"])  # type: ignore[arg-type]
    info["token_calls_today"] = health["token_calls"]
    info["exact_division_source"] = state.get(svc.db, tenant.id, "exact:division_source") or "-"
    info["exact_divisions"] = divisions.describe(svc.db, tenant)
    info["exact_webhook_secret"] = "set" if tenant.exact_webhook_secret(svc.box) else None
    info["created_at"] = when(tenant.created_at)
    for key, value in info.items():
        print(f"{key:22} {'-' if value is None else value}")
    return 0


def ping(args: argparse.Namespace, ctx: Context) -> int:
    """Call both systems with the stored credentials; 0 only when both answer."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.name)
    ok = True
    try:
        division = svc.exact(tenant).current_division()
        print(f"exact:   ok (current division {division}, using {tenant.exact_division})")
        ok = _divisions_in_scope(ctx, tenant)
    except ConnectorError as exc:
        ok = False
        print(f"exact:   FAILED {exc}")
    try:
        client = svc.basware(tenant)
        client.ping()
        missing = client.missing_scopes()
    except ConnectorError as exc:
        ok, missing = False, []
        print(f"basware: FAILED {exc}")
    else:
        print("basware: ok" if not missing else "basware: FAILED")
    if missing:
        ok = False
        print(
            f"basware: the API client {tenant.basware_client_id} lacks scope(s) {', '.join(missing)}; "
            "ask Basware (or your Basware admin) to grant them to this client, then run ping again"
        )
    return 0 if ok else 1


def _divisions_in_scope(ctx: Context, tenant: tenants.Tenant) -> bool:
    """List the divisions the grant reaches; name every mapped one outside the consent's scope, and the cure."""
    reachable, outside = divisions.scope(ctx.services, tenant)
    print(f"exact:   the grant reaches division(s) {', '.join(map(str, reachable)) or 'none'}")
    for company, division in outside.items():
        print(
            f"exact:   division {division} (company {company}) is outside the consent's scope (Exact: \"User "
            f'division is not within division scope"); run `ml-connector exact authorize {tenant.name}` and tick '
            "that company when consenting"
        )
    return not outside


def health_http(args: argparse.Namespace, _ctx: Context) -> int:
    """Exit 0 when the service answers 2xx."""
    from ml_connector.health import http_ok

    return 0 if http_ok(args.url.rstrip("/") + args.path) else 1


def health_beat(args: argparse.Namespace, _ctx: Context) -> int:
    """Exit 0 when beat's schedule file is fresh."""
    from connector.config import load_settings
    from ml_connector.health import beat_is_alive

    return 0 if beat_is_alive(load_settings().data_dir, args.max_age) else 1


def receiver(args: argparse.Namespace, _ctx: Context) -> int:
    """Serve the webhook app with Werkzeug (production uses gunicorn); JSON lines when CONNECTOR_LOG_FORMAT=json.

    Werkzeug's server directly rather than `app.run`, whose banner is printed, not logged, and so could not be
    a JSON line.
    """
    import logging.config

    from werkzeug.serving import run_simple

    from connector.logcontext import json_logging_config, wants_json
    from webhook_receiver import create_app

    if wants_json():
        logging.config.dictConfig(json_logging_config())
    run_simple(args.host, args.port, create_app(), threaded=True)
    return 0


def demo(args: argparse.Namespace, _ctx: Context) -> int:
    """The whole flow against the sandboxes."""
    from ml_connector.demo import run_demo

    return run_demo(clean_invoices=args.invoices)


def sandbox(args: argparse.Namespace, _ctx: Context) -> int:
    """Serve both sandboxes until interrupted."""
    from connector.sandbox.standalone import serve

    serve(exact_port=args.exact_port, basware_port=args.basware_port)
    return 0


def register(sub: Any) -> None:
    """Add this area's sub-commands to the `ml-connector` parser.

    Long because it is a table: one line per sub-command and option, read top to bottom as `--help` shows them.
    """
    db = sub.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=db_upgrade)

    tenant = sub.add_parser("tenant", help="register and inspect tenants").add_subparsers(metavar="ACTION")
    add = tenant.add_parser("add", help="register a tenant")
    add.add_argument("name")
    for flag in ("exact-region", "exact-client-id", "exact-redirect-uri", "basware-region", "basware-client-id"):
        add.add_argument(f"--{flag}", required=True)
    add.add_argument("--purchase-journal", required=True)
    for flag in ("exact-client-secret", "basware-client-secret", "webhook-secret"):
        add.add_argument(f"--{flag}", nargs="?", action=RefuseSecretArgument, help=argparse.SUPPRESS)
    _add_secret_options(add)
    add.add_argument("--exact-base-url")
    add.add_argument("--basware-base-url")
    add.add_argument("--auto-create-vendors", action=argparse.BooleanOptionalAction, default=False)
    _add_setting_options(add)
    add.set_defaults(handler=tenant_add)
    change = tenant.add_parser("set", help="change a tenant's settings")
    change.add_argument("name")
    change.add_argument("--purchase-journal")
    change.add_argument("--auto-create-vendors", action=argparse.BooleanOptionalAction, default=None)
    change.add_argument("--exact-division", type=int, help="pin a division the consenting user can access")
    change.add_argument("--exact-client-secret", action="store_true", help="replace it (read, never an argument)")
    change.add_argument("--basware-client-secret", action="store_true", help="replace it (read, never an argument)")
    change.add_argument("--webhook-secret", action="store_true", help="rotate it (read, never an argument)")
    change.add_argument(
        "--exact-webhook-secret", action="store_true", help="the Exact app's webhook secret (read, never an argument)"
    )
    change.add_argument("--overlap-days", type=float, default=7.0, help="how long the old webhook secret still works")
    _add_secret_options(change)
    _add_setting_options(change)
    change.set_defaults(handler=tenant_set)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=tenant_list)
    show = tenant.add_parser("show", help="one tenant, without secrets")
    show.add_argument("name")
    show.set_defaults(handler=tenant_show)

    ping_cmd = sub.add_parser("ping", help="check both systems with the stored credentials")
    ping_cmd.add_argument("name")
    ping_cmd.set_defaults(handler=ping)

    health = sub.add_parser("health", help="container health checks").add_subparsers(metavar="WHAT")
    http = health.add_parser("receiver", help="an HTTP service answers (receiver /readyz, Flower /healthcheck)")
    http.add_argument("--url", default="http://127.0.0.1:8000")
    http.add_argument("--path", default="/readyz")
    http.set_defaults(handler=health_http)
    beat = health.add_parser("beat", help="beat has written its schedule recently")
    beat.add_argument("--max-age", type=float, default=600.0)
    beat.set_defaults(handler=health_beat)

    receiver_cmd = sub.add_parser("receiver", help="serve the webhook receiver (development server)")
    receiver_cmd.add_argument("--host", default="127.0.0.1")
    receiver_cmd.add_argument("--port", type=int, default=8000)
    receiver_cmd.set_defaults(handler=receiver)

    demo_cmd = sub.add_parser("demo", help="run the whole flow against the sandboxes and print the outcome")
    demo_cmd.add_argument("--invoices", type=int, default=6, help="how many clean invoices to send")
    demo_cmd.set_defaults(handler=demo)

    sandbox_cmd = sub.add_parser("sandbox", help="serve the Exact Online and Basware sandboxes")
    sandbox_cmd.add_argument("--exact-port", type=int, default=8101)
    sandbox_cmd.add_argument("--basware-port", type=int, default=8102)
    sandbox_cmd.set_defaults(handler=sandbox)
