"""CLI commands for the accounting side: records, their problems and audit trail, replay."""

from __future__ import annotations

import argparse
from typing import Any

from connector.errors import ConfigurationError
from connector.store import audit, records, tenants
from connector.store.records import Record, Status
from connector.views import problem_text, summary, when
from ml_connector.context import Context, print_json, print_table


def _record_json(record: Record, tenant_name: str) -> dict[str, Any]:
    return {
        "id": record.id,
        "tenant": tenant_name,
        "kind": record.kind,
        "basware_id": record.basware_id,
        "status": record.status,
        "step": record.step,
        "reference": record.reference,
        "supplier": record.supplier,
        "gross": record.gross,
        "currency": record.currency,
        "division": record.division,
        "exact_id": record.exact_id,
        "exact_number": record.exact_number,
        "reason": record.reason,
        "problems": record.problems,
        "updated_at": when(record.updated_at),
    }


def records_list(args: argparse.Namespace, ctx: Context) -> int:
    """Records, filtered by tenant and status; --json for scripts."""
    svc = ctx.services
    tenant_id = tenants.get_tenant(svc.db, args.tenant).id if args.tenant else None
    found = records.list_records(svc.db, tenant_id=tenant_id, status=args.status)
    if args.json:
        print_json([_record_json(record, name) for record, name in found])
        return 0
    rows = [
        (
            r.id,
            name,
            r.kind,
            r.reference or r.basware_id,
            r.supplier,
            r.gross,
            r.division or "-",
            r.status,
            r.exact_number or summary(r),
        )
        for r, name in found
    ]
    headers = ["id", "tenant", "kind", "reference", "supplier", "gross", "division", "status", "exact entry / reason"]
    print_table(headers, rows)
    return 0


def records_show(args: argparse.Namespace, ctx: Context) -> int:
    """One record: its status, every problem per line and its audit trail."""
    svc = ctx.services
    record = records.get(svc.db, args.id)
    tenant = tenants.get_tenant(svc.db, record.tenant_id)
    trail = audit.entries(svc.db, record_id=record.id)
    if args.json:
        print_json(dict(_record_json(record, tenant.name), audit=trail))
        return 0
    for key, value in _record_json(record, tenant.name).items():
        if key != "problems":
            print(f"{key:13} {'-' if value is None else value}")
    for problem in record.problems or []:
        print(f"  problem  {problem_text(problem)}")
    print("audit:")
    for row in trail:
        print(f"  {when(row['at'])}  {row['step']:10} {row['event']:18} {row['message']}")
    return 0


def replay(args: argparse.Namespace, ctx: Context) -> int:
    """Resume blocked, failed or waiting records; each runs from its first unfinished step."""
    from connector.sync import outcomes
    from workers.tasks import start_chain

    svc = ctx.services
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


def records_resolve(args: argparse.Namespace, ctx: Context) -> int:
    """Accept a later version that Exact would not take as corrected there by hand, and tell Basware."""
    from connector.sync import outcomes
    from workers.tasks import start_chain

    svc = ctx.services
    if not outcomes.accept_correction(svc, args.id, args.note):
        record = records.get(svc.db, args.id)
        raise ConfigurationError(
            f"record {args.id} is {record.status}: only a record blocked on a later version of a posted "
            "document can be resolved; use replay for the others"
        )
    start_chain(args.id)  # the report step tells Basware the version is booked
    print(f"record {args.id} marked as corrected in Exact; Basware will be told")
    return 0


def register(sub: Any) -> None:
    """Add this area's sub-commands to the `ml-connector` parser."""
    rec = sub.add_parser("records", help="records and their status").add_subparsers(metavar="ACTION")
    lst = rec.add_parser("list", help="list records")
    lst.add_argument("--tenant")
    lst.add_argument("--status", choices=[str(status) for status in Status])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=records_list)
    one = rec.add_parser("show", help="one record with its problems and audit trail")
    one.add_argument("id", type=int)
    one.add_argument("--json", action="store_true")
    one.set_defaults(handler=records_show)
    resolve = rec.add_parser("resolve", help="a later version was corrected in Exact by hand: mark it written")
    resolve.add_argument("id", type=int)
    resolve.add_argument("--note", default="", help="what was done in Exact, for the audit trail")
    resolve.set_defaults(handler=records_resolve)

    replay_cmd = sub.add_parser("replay", help="re-run blocked or failed records from the first unfinished step")
    replay_cmd.add_argument("id", type=int, nargs="?")
    replay_cmd.add_argument("--blocked", action="store_true", help="every blocked record of --tenant")
    replay_cmd.add_argument("--tenant")
    replay_cmd.set_defaults(handler=replay)
