"""CLI commands for mapping tables: import a CSV (all or nothing), export it, list it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from connector.errors import ConfigurationError
from connector.mapping.table import read_csv, write_csv
from connector.store import audit, mappings, tenants
from ml_connector.context import Context, print_json, print_table


def mappings_import(args: argparse.Namespace, ctx: Context) -> int:
    """Apply a `kind,source,target` CSV; any bad line rejects the whole file, naming every bad line."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.tenant)
    text = _read(args.file)
    rows, problems = read_csv(text, mappings.MAPPING_KINDS)
    if problems:
        for problem in problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print(f"error: {len(problems)} invalid line(s); nothing was imported", file=sys.stderr)
        return 1
    count = mappings.put_many(svc.db, tenant.id, rows, origin="manual")
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        step="mappings",
        event="mappings_imported",
        message=f"{count} mapping(s) imported from {Path(args.file).name}",
        detail={"rows": [list(row) for row in rows]},
    )
    print(f"{count} mapping{'s' if count != 1 else ''} imported for tenant {tenant.name}")
    return 0


def _read(name: str) -> str:
    try:
        return sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {name}: {exc}") from None


def mappings_export(args: argparse.Namespace, ctx: Context) -> int:
    """The tenant's mappings as CSV on stdout, in the shape `mappings import` reads."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.tenant)
    found = mappings.entries(svc.db, tenant.id, args.kind)
    sys.stdout.write(write_csv((e.kind, e.source, e.target) for e in found))
    return 0


def mappings_list(args: argparse.Namespace, ctx: Context) -> int:
    """The tenant's mappings with where each came from (an operator, a vendor match, a creation)."""
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.tenant)
    found = mappings.entries(svc.db, tenant.id, args.kind)
    if args.json:
        print_json([e.__dict__ for e in found])
        return 0
    print_table(["kind", "source", "target", "origin"], [(e.kind, e.source, e.target, e.origin) for e in found])
    return 0


def register(sub: Any) -> None:
    """Add `mappings import|export|list` to the `ml-connector` parser."""
    area = sub.add_parser("mappings", help="mapping tables (Basware code -> Exact code)")
    actions = area.add_subparsers(metavar="ACTION")
    imp = actions.add_parser("import", help="apply a kind,source,target CSV (all or nothing)")
    imp.add_argument("tenant", metavar="NAME")
    imp.add_argument("file", metavar="FILE.csv", help="the CSV file, or - for stdin")
    imp.set_defaults(handler=mappings_import)
    exp = actions.add_parser("export", help="write the mappings as CSV to stdout")
    exp.add_argument("tenant", metavar="NAME")
    exp.add_argument("--kind", choices=mappings.MAPPING_KINDS)
    exp.set_defaults(handler=mappings_export)
    lst = actions.add_parser("list", help="list the mappings and their origin")
    lst.add_argument("tenant", metavar="NAME")
    lst.add_argument("--kind", choices=mappings.MAPPING_KINDS)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=mappings_list)
