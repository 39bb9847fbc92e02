"""Exact calls the payment sync spends per division per day: 1,000 written invoices, 10% of them paid each day.

    .venv/bin/python scripts/payments_benchmark.py [--invoices 1000] [--paid-share 0.10] [--days 2] [--interval 900]

Both sandboxes run in this process on an embedded database in a temporary folder. The invoices are booked in
the Exact sandbox and stored as written records (the pipeline's own cost is `scripts/benchmark.py`'s subject);
then each simulated day runs the sync every `interval` seconds (96 times at the default 15 minutes), with the
day's payments spread over the runs. It prints the Exact calls of the first sync (which reads every term once)
and of each day, and the paymentResponses Basware received.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from connector.sandbox.basware import BaswareSandbox, make_invoice
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import records, tenants
from connector.store.db import records as records_table
from connector.sync import payments
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector.demo import TENANT, Started, prepare

ROW = {"account_code": "4000", "tax_code": "VAT21", "tax_percent": 21, "net": Decimal("100.00"),
       "tax": Decimal("21.00")}  # fmt: skip


def book(svc: Services, exact: ExactSandbox, basware: BaswareSandbox, count: int) -> list[str]:
    """`count` invoices booked in Exact and held as written records; returns their Exact entry ids."""
    tenant = tenants.get_tenant(svc.db, TENANT)
    client, division = svc.exact(tenant), exact.first_division()
    supplier = next(row["ID"] for row in exact.accounts(division) if str(row["Code"]).strip() == "1001")
    gl = next(row["ID"] for row in exact.rows(division, "financial/GLAccounts") if row["Code"] == "4000")
    entry_ids = []
    for number in range(count):
        invoice_id = basware.add_invoice(make_invoice(f"PAYB-{number:05d}", "1001", "Acme Supplies BV", [ROW]))
        lines = [{"GLAccount": gl, "AmountFC": Decimal("100.00"), "VATCode": "1"}]
        entry = client.create_purchase_entry(
            {"Journal": "60", "Supplier": supplier, "YourRef": f"PAYB-{number:05d}", "PurchaseEntryLines": lines}
        )
        with svc.db.begin() as conn:
            record_id = records.upsert_pending(conn, tenant.id, "invoice", invoice_id)
            conn.execute(
                records_table.update()
                .where(records_table.c.id == record_id)
                .values(status="written", exact_id=entry["EntryID"], gross=str(entry["AmountFC"]), currency="EUR")
            )
        entry_ids.append(str(entry["EntryID"]))
    return entry_ids


def measure(args: argparse.Namespace) -> None:
    """Set everything up, then print the Exact calls of the first sync and of each simulated day."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would bury the figures
    folder = Path(tempfile.mkdtemp(prefix="payments-bench-"))
    for key in [k for k in os.environ if k.startswith(("CONNECTOR_", "CELERY_"))]:
        del os.environ[key]
    os.environ["CONNECTOR_DATA_DIR"] = str(folder)
    svc = build_services()
    svc.db.upgrade()
    exact, basware = ExactSandbox(minute_limit=1_000_000, day_limit=10_000_000), BaswareSandbox()
    running = Started([ServerThread(exact.app).start(), ServerThread(basware.app).start()], [])
    try:
        prepare(svc, exact, basware, running)
        division = exact.first_division()
        open_entries = book(svc, exact, basware, args.invoices)
        tenant = tenants.get_tenant(svc.db, TENANT)
        before = exact.api_calls[division]
        payments.sync_tenant(svc, tenant)
        print(f"first sync (reads all {args.invoices} terms once): {exact.api_calls[division] - before} Exact calls")
        runs, rng, sent_before = int(86400 / args.interval), random.Random(7), _responses(basware)
        per_day = int(args.invoices * args.paid_share)
        for day in range(1, args.days + 1):
            before, started, day_start = exact.api_calls[division], time.monotonic(), time.time() + day * 86400
            payers = rng.sample(open_entries, min(per_day, len(open_entries)))
            for run in range(runs):
                for entry_id in payers[run * len(payers) // runs : (run + 1) * len(payers) // runs]:
                    exact.record_payment(division, entry_id)
                    open_entries.remove(entry_id)
                payments.sync_tenant(svc, tenant, everything=False, now=day_start + run * args.interval)
            calls, sent = exact.api_calls[division] - before, _responses(basware) - sent_before
            sent_before += sent
            print(
                f"day {day}: {runs} syncs, {len(payers)} invoices paid, {calls} Exact calls "
                f"({calls / runs:.1f} a sync), {sent} paymentResponses to Basware, {time.monotonic() - started:.1f} s"
            )
    finally:
        running.stop()
        svc.close()


def _responses(basware: BaswareSandbox) -> int:
    return basware.payments.total()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--paid-share", type=float, default=0.10)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--interval", type=int, default=900)
    measure(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
