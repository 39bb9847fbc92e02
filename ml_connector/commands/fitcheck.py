"""`ml-connector check`: before going live, see how the documents waiting in Basware would fare in Exact.

Read-only: nothing is acknowledged or answered in Basware, nothing is created in Exact, no record is made.
Exit code 0 when every document would post, 1 when any would block.
"""

from __future__ import annotations

import argparse
from typing import Any

from connector.store import tenants
from connector.sync.fitcheck import DEFAULT_LAST, WOULD_POST, Verdict, by_cause, check_tenant, suggested_mappings
from ml_connector.context import Context, print_json, print_table


def check_command(args: argparse.Namespace, ctx: Context) -> int:
    """Check the last N waiting documents of one tenant; text or --json."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.tenant)
    verdicts = check_tenant(svc, tenant, args.last)
    if args.json:
        print_json([verdict_json(v) for v in verdicts])
    else:
        print_verdicts(verdicts, tenant.name)
    return 0 if all(v.outcome == WOULD_POST for v in verdicts) else 1


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """One document for scripts: basware_id, kind, outcome, problems (and what it is)."""
    return {
        "basware_id": verdict.basware_id,
        "kind": verdict.kind,
        "outcome": verdict.outcome,
        "problems": [p.as_dict() for p in verdict.problems],
        "reference": verdict.reference,
        "supplier": verdict.supplier,
        "currency": verdict.currency,
        "gross": None if verdict.gross is None else str(verdict.gross),
        "notes": list(verdict.notes),
    }


def print_verdicts(verdicts: list[Verdict], tenant: str) -> None:
    """What would post, what would block grouped by cause, and the mappings that would fix it."""
    posting = [v for v in verdicts if v.outcome == WOULD_POST]
    print(f"Fit check of {tenant}: {len(verdicts)} waiting documents, {len(posting)} would post")
    if posting:
        print("\nwould post")
        print_table(
            ["kind", "basware id", "reference", "supplier", "gross", "notes"],
            [_row(v, "; ".join(v.notes)) for v in posting],
        )
    for cause, found in by_cause(verdicts).items():
        print(f"\nwould block: {cause} ({len(found)})")
        print_table(
            ["kind", "basware id", "reference", "supplier", "gross", "problem"],
            [_row(v, p.short()) for v, p in found],
        )
    fixes = suggested_mappings(verdicts)
    if fixes:
        print("\nmappings that would fix them (check each and fill in '?'):")
        print(f"save as FILE, then: ml-connector mappings import {tenant} FILE")
        print("kind,source,target")
        for kind, source, target in fixes:
            print(f"{kind},{source},{target}")


def _row(verdict: Verdict, text: str) -> list[Any]:
    gross = "" if verdict.gross is None else f"{verdict.currency} {verdict.gross}"
    return [verdict.kind, verdict.basware_id, verdict.reference, verdict.supplier, gross, text]


def register(sub: Any) -> None:
    """Add `check` to the `ml-connector` parser."""
    cmd = sub.add_parser("check", help="read-only: would the documents waiting in Basware post in Exact?")
    cmd.add_argument("tenant", metavar="NAME")
    cmd.add_argument("--last", type=int, default=DEFAULT_LAST, metavar="N", help="documents of each kind (50)")
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(handler=check_command)
