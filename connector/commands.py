"""The CLI's commands: each takes the parsed arguments and returns an exit code."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from connector import cli
from connector.crypto import generate_key
from connector.errors import ConfigurationError, ConnectorError
from connector.store import audit, records, tenants, tokens
from connector.store.records import Record


def _when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def db_upgrade(_args: argparse.Namespace) -> int:
    """Create or upgrade the schema."""
    db = cli.services().db
    applied = db.upgrade()
    print(f"database at version {db.current_version()}" + (f" (applied {applied})" if applied else " (up to date)"))
    return 0


def tenant_add(args: argparse.Namespace) -> int:
    """Register a tenant; secrets are encrypted before they are stored."""
    svc = cli.services()
    tenant = tenants.add_tenant(
        svc.db, svc.box, name=args.name, exact_region=args.exact_region, exact_base_url=args.exact_base_url,
        exact_client_id=args.exact_client_id, exact_client_secret=args.exact_client_secret,
        exact_redirect_uri=args.exact_redirect_uri, basware_region=args.basware_region,
        basware_base_url=args.basware_base_url, basware_client_id=args.basware_client_id,
        basware_client_secret=args.basware_client_secret, webhook_secret=args.webhook_secret,
        purchase_journal=args.purchase_journal, auto_create_vendors=args.auto_create_vendors,
    )
    print(f"tenant {tenant.name} added; next: ml-connector exact authorize {tenant.name}")
    return 0


def tenant_list(_args: argparse.Namespace) -> int:
    """One line per tenant."""
    rows = [(t.name, t.exact_region, t.exact_division or "-", t.basware_region, t.grant_status)
            for t in tenants.list_tenants(cli.services().db)]
    cli.print_table(["tenant", "exact region", "division", "basware region", "grant"], rows)
    return 0


def tenant_show(args: argparse.Namespace) -> int:
    """Everything about a tenant but its secrets."""
    svc = cli.services()
    tenant = tenants.get_tenant(svc.db, args.name)
    info = tenant.public()
    health = tokens.token_health(svc.db, tenant.id)
    info["grant_renewed_at"] = _when(health["refreshed_at"])  # type: ignore[arg-type]
    info["token_calls_today"] = health["token_calls"]
    info["created_at"] = _when(tenant.created_at)
    for key, value in info.items():
        print(f"{key:22} {'-' if value is None else value}")
    return 0


def exact_authorize(args: argparse.Namespace) -> int:
    """Consent: exchange a pasted code, or print the URL and take the callback on the redirect URI."""
    from connector.sync import grants
    from connector.consent import wait_for_callback

    svc = cli.services()
    tenant = tenants.get_tenant(svc.db, args.name)
    if args.code:
        code = args.code
    else:
        url, state = grants.consent_url(svc, tenant)
        print(f"Open this URL and log in to Exact Online:\n\n  {url}\n")
        print(f"Waiting for the callback on {tenant.exact_redirect_uri} ...", flush=True)
        callback = wait_for_callback(tenant.exact_redirect_uri, timeout=args.timeout)
        code = grants.code_from_callback(callback, state)
    division = grants.complete_consent(svc, tenant, code, division=args.division)
    print(f"tenant {tenant.name} authorized; Exact division {division}")
    _resume_waiting(svc, tenant.id)
    return 0


def _resume_waiting(svc: Any, tenant_id: int) -> None:
    waiting = records.list_records(svc.db, tenant_id=tenant_id, status="waiting_for_reauth")
    if not waiting:
        return
    from connector.sync import outcomes
    from workers.tasks import start_chain

    for record, _name in waiting:
        if outcomes.resume(svc, record.id):
            start_chain(record.id)
    print(f"{len(waiting)} records that waited for consent are on their way again")


def ping(args: argparse.Namespace) -> int:
    """Call both systems with the stored credentials; 0 only when both answer."""
    svc = cli.services()
    tenant = tenants.get_tenant(svc.db, args.name)
    ok = True
    try:
        division = svc.exact(tenant).current_division()
        print(f"exact:   ok (current division {division}, using {tenant.exact_division})")
    except ConnectorError as exc:
        ok = False
        print(f"exact:   FAILED {exc}")
    try:
        svc.basware(tenant).ping()
        print("basware: ok")
    except ConnectorError as exc:
        ok = False
        print(f"basware: FAILED {exc}")
    return 0 if ok else 1


def _record_json(record: Record, tenant_name: str) -> dict[str, Any]:
    return {
        "id": record.id, "tenant": tenant_name, "kind": record.kind, "basware_id": record.basware_id,
        "status": record.status, "step": record.step, "reference": record.reference, "supplier": record.supplier,
        "gross": record.gross, "currency": record.currency, "exact_id": record.exact_id,
        "exact_number": record.exact_number, "reason": record.reason, "problems": record.problems,
        "updated_at": _when(record.updated_at),
    }


def records_list(args: argparse.Namespace) -> int:
    """Records, filtered by tenant and status; --json for scripts."""
    svc = cli.services()
    tenant_id = tenants.get_tenant(svc.db, args.tenant).id if args.tenant else None
    found = records.list_records(svc.db, tenant_id=tenant_id, status=args.status)
    if args.json:
        cli.print_json([_record_json(record, name) for record, name in found])
        return 0
    rows = [(r.id, name, r.kind, r.reference or r.basware_id, r.supplier, r.gross, r.status,
             r.exact_number or (r.reason or "")[:70]) for r, name in found]
    cli.print_table(["id", "tenant", "kind", "reference", "supplier", "gross", "status", "exact entry / reason"], rows)
    return 0


def records_show(args: argparse.Namespace) -> int:
    """One record: its status, every problem per line and its audit trail."""
    svc = cli.services()
    record = records.get(svc.db, args.id)
    tenant = tenants.get_tenant(svc.db, record.tenant_id)
    trail = audit.entries(svc.db, record_id=record.id)
    if args.json:
        cli.print_json(dict(_record_json(record, tenant.name), audit=trail))
        return 0
    for key, value in _record_json(record, tenant.name).items():
        if key != "problems":
            print(f"{key:13} {'-' if value is None else value}")
    for problem in record.problems or []:
        where = f"line {problem['row']}" if problem.get("row") is not None else "invoice"
        hint = f"  (close matches: {', '.join(problem['suggestions'])})" if problem.get("suggestions") else ""
        print(f"  problem  {where}: {problem['problem']}{hint}")
    print("audit:")
    for row in trail:
        print(f"  {_when(row['at'])}  {row['step']:10} {row['event']:18} {row['message']}")
    return 0


def replay(args: argparse.Namespace) -> int:
    """Resume blocked, failed or waiting records; each runs from its first unfinished step."""
    from connector.sync import outcomes
    from workers.tasks import start_chain

    svc = cli.services()
    if args.id is not None:
        ids = [args.id]
    elif args.blocked and args.tenant:
        tenant = tenants.get_tenant(svc.db, args.tenant)
        ids = [r.id for r, _ in records.list_records(svc.db, tenant_id=tenant.id, status="blocked")]
    else:
        raise ConfigurationError("name a record id, or use --blocked --tenant NAME")
    replayed = 0
    for record_id in ids:
        if outcomes.resume(svc, record_id):
            start_chain(record_id)
            replayed += 1
        else:
            print(f"record {record_id} is {records.get(svc.db, record_id).status}: nothing to replay")
    print(f"{replayed} record{'s' if replayed != 1 else ''} replayed")
    return 0


def status(_args: argparse.Namespace) -> int:
    """Tenants with grant health and record counts."""
    svc = cli.services()
    rows = []
    for tenant in tenants.list_tenants(svc.db):
        health = tokens.token_health(svc.db, tenant.id)
        counts = records.count_by_status(svc.db, tenant.id)
        grant = tenant.grant_status if tenant.grant_status != "dead" else f"DEAD: {tenant.grant_reason}"
        rows.append((tenant.name, grant, _when(health["refreshed_at"]),  # type: ignore[arg-type]
                     " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-"))
    cli.print_table(["tenant", "grant", "grant renewed", "records"], rows)
    return 0


def keys_generate(_args: argparse.Namespace) -> int:
    """Print a new key for CONNECTOR_SECRET_KEY."""
    print(generate_key())
    return 0


def keys_rotate(_args: argparse.Namespace) -> int:
    """Re-encrypt every stored secret with the first key of CONNECTOR_SECRET_KEY."""
    svc = cli.services()
    count = tenants.reencrypt_secrets(svc.db, svc.box) + tokens.reencrypt_tokens(svc.db, svc.box)
    print(f"{count} stored secrets re-encrypted with the first key")
    return 0


def receiver(args: argparse.Namespace) -> int:
    """Serve the webhook app with Werkzeug (production uses gunicorn)."""
    from webhook_receiver import create_app

    create_app().run(host=args.host, port=args.port)
    return 0


def demo(args: argparse.Namespace) -> int:
    """The whole flow against the sandboxes."""
    from connector.demo import run_demo

    return run_demo(clean_invoices=args.invoices)


def sandbox(args: argparse.Namespace) -> int:
    """Serve both sandboxes until interrupted."""
    from connector.sandbox.standalone import serve

    serve(exact_port=args.exact_port, basware_port=args.basware_port)
    return 0
