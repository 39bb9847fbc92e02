"""`ml-connector reconcile`: the month-end report of what Basware handed over and what Exact holds.

Exit code 0 only when every line matches, so a close checklist (or a cron job) can stop on anything else.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date
from decimal import Decimal
from typing import IO, Any

from connector.errors import ConfigurationError
from connector.mapping.reconcile import LABELS, Category, ExactEntry, Line, Report, categories
from connector.store import tenants
from connector.sync.reconcile import reconcile_period
from ml_connector.context import Context, print_json, print_table

MISMATCH = 1
CSV_HEADER = (
    "category", "basware_id", "reference", "supplier", "currency", "basware_gross", "exact_entries",
    "exact_amount", "record_state", "reason",
)  # fmt: skip


class ProgressBar:
    """A one-line bar on stderr for the Exact read; silent unless stdout is a terminal."""

    WIDTH = 30

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.shown = sys.stdout.isatty()

    def __call__(self, read: int, total: int | None) -> None:
        """Show how many entries have been read of how many Exact said there are."""
        if not self.shown:
            return
        total = max(total or 0, read, 1)
        filled = self.WIDTH * read // total
        self.stream.write(f"\rreading Exact [{'#' * filled}{'.' * (self.WIDTH - filled)}] {read}/{total} entries")
        self.stream.flush()

    def done(self) -> None:
        """End the bar's line."""
        if self.shown:
            self.stream.write("\n")


def reconcile_command(args: argparse.Namespace, ctx: Context) -> int:
    """Reconcile one tenant over a period; text, --json or --csv FILE."""
    first, last = _day(args.start, "--from"), _day(args.end, "--to")
    svc = ctx.services
    tenant = tenants.get_tenant(svc.db, args.tenant)
    bar = ProgressBar()
    try:
        report = reconcile_period(svc, tenant, first, last, on_page=bar)
    finally:
        bar.done()
    if args.csv:
        write_csv(report, args.csv)
    if args.json:
        print_json(report_json(report, tenant.name, first, last))
    else:
        print_report(report, tenant.name, first, last)
    return 0 if report.is_clean else MISMATCH


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} wants a date as YYYY-MM-DD, not {text!r}") from None


def line_json(line: Line) -> dict[str, Any]:
    """One line for scripts: both sides, with amounts as strings."""
    doc = line.document
    return {
        "category": line.category.value,
        "currency": line.currency,
        "basware": None
        if doc is None
        else {
            "basware_id": doc.basware_id,
            "record_id": doc.record_id,
            "reference": doc.reference,
            "supplier": doc.supplier,
            "gross": None if doc.gross is None else str(doc.gross),
            "invoice_date": None if doc.invoice_date is None else doc.invoice_date.isoformat(),
            "state": doc.status,
            "reason": doc.reason,
        },
        "exact": [
            {
                "entry_id": e.entry_id,
                "entry_number": e.entry_number,
                "supplier_id": e.supplier_id,
                "supplier": e.supplier_name or None,
                "your_ref": e.your_ref,
                "amount": str(e.amount),
                "entry_date": None if e.entry_date is None else e.entry_date.isoformat(),
            }
            for e in line.entries
        ],
    }


def report_json(report: Report, tenant: str, first: date, last: date) -> dict[str, Any]:
    """The whole report: lines, totals per category and currency, grand totals, and whether all match."""
    return {
        "tenant": tenant,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "clean": report.is_clean,
        "lines": [line_json(line) for line in report.lines],
        "totals": [
            {"category": cat.value, "currency": cur, **_total(t)} for (cat, cur), t in sorted(report.totals.items())
        ],
        "grand_total": {currency: _total(total) for currency, total in sorted(report.grand.items())},
    }


def _total(total: Any) -> dict[str, Any]:
    return {"count": total.count, "basware": str(total.basware), "exact": str(total.exact)}


def print_report(report: Report, tenant: str, first: date, last: date) -> None:
    """The report in words: each category with its lines and totals, then the grand totals."""
    print(f"Reconciliation of {tenant}, {first} to {last}")
    for category in categories():
        lines = report.of(category)
        if not lines:
            continue
        print(f"\n{LABELS[category]} ({len(lines)})")
        print_table(
            ["reference", "supplier", "currency", "basware", "exact", "entries", "state / reason"],
            [_row(line) for line in lines],
        )
        for (cat, currency), total in sorted(report.totals.items()):
            if cat == category:
                print(f"  total {currency}: basware {total.basware}, exact {total.exact}")
    print("\ngrand total")
    for currency, total in sorted(report.grand.items()):
        print(f"  {currency}: {total.count} lines, basware {total.basware}, exact {total.exact}")
    print("\nBoth systems agree." if report.is_clean else "\nThe systems do not agree: see above.")


def _row(line: Line) -> list[Any]:
    doc, entry = line.document, (line.entries[0] if line.entries else None)
    state = "" if doc is None else doc.status + (f": {doc.reason}" if doc.reason else "")
    return [
        doc.reference if doc else entry.your_ref if entry else "",
        doc.supplier if doc else _supplier(entry),
        line.currency,
        _amount(doc.gross if doc else None),
        _amount(line.exact_amount if line.entries else None),
        ", ".join(e.entry_number for e in line.entries),
        state if line.category != Category.MATCHED else "",
    ]


def _supplier(entry: ExactEntry | None) -> str:
    return "" if entry is None else entry.supplier_name or entry.supplier_id


def _amount(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def write_csv(report: Report, path: str) -> None:
    """One row per line of the report, for a spreadsheet."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for line in report.lines:
            doc = line.document
            writer.writerow(
                [
                    line.category.value,
                    doc.basware_id if doc else "",
                    doc.reference if doc else (line.entries[0].your_ref if line.entries else ""),
                    doc.supplier if doc else _supplier(line.entries[0] if line.entries else None),
                    line.currency,
                    "" if doc is None or doc.gross is None else str(doc.gross),
                    " ".join(e.entry_number for e in line.entries),
                    str(line.exact_amount) if line.entries else "",
                    doc.status if doc else "",
                    (doc.reason or "") if doc else "",
                ]
            )


def register(sub: Any) -> None:
    """Add `reconcile` to the `ml-connector` parser."""
    cmd = sub.add_parser("reconcile", help="month-end: Basware documents against Exact purchase entries")
    cmd.add_argument("tenant", metavar="NAME")
    cmd.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    cmd.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    cmd.add_argument("--json", action="store_true")
    cmd.add_argument("--csv", metavar="FILE", help="also write the lines as CSV")
    cmd.set_defaults(handler=reconcile_command)
