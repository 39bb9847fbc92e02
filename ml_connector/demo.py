"""`ml-connector demo`: both sandboxes, the receiver, a real Celery worker and beat, a batch of invoices.

Runs on the embedded defaults in a fresh folder (`<data dir>/demo`): SQLite and the file-system broker,
so nothing else needs to be installed. Everything it starts, it stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from connector.config import load_settings
from connector.sandbox.basware import BaswareSandbox, make_invoice, make_vendor
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.wiring import build_services
from ml_connector.context import print_table

TENANT = "demo"
WEBHOOK_SECRET = "demo-webhook-secret-0f3c9a1b7e2d4c6a8b0d"  # 32+ bytes, as the connector requires
EXACT_APP = ("demo-exact-client", "demo-exact-secret")
BASWARE_APP = ("demo-basware-client", "demo-basware-secret")
VAT_MAPPINGS = [("vat_code", "VAT21", "1"), ("vat_code", "VAT9", "2"), ("vat_code", "VAT0", "0")]
SUPPLIERS = [("1001", "Acme Supplies BV"), ("1002", "Globex Office Supplies"), ("1003", "Initech Logistics")]
D = Decimal


@dataclass
class Started:
    """What the demo started, so that it can stop all of it."""

    servers: list[ServerThread]
    processes: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in self.servers:
            server.stop()


def demo_invoices(clean: int) -> list[dict[str, Any]]:
    """Clean invoices (one a credit note, some multi-line), one with an unknown GL account, one unknown vendor."""
    invoices = []
    for index in range(clean):
        code, name = SUPPLIERS[index % len(SUPPLIERS)]
        number = f"INV-{1001 + index}"
        if index % 4 == 1:
            rows = [
                ("4010", "CC200", "VAT21", 21, D("1250.00"), D("262.50"), "CU1"),
                ("4020", "CC300", "VAT9", 9, D("99.95"), D("9.00"), None),
            ]
        elif index % 4 == 3:
            number = f"CN-{1001 + index}"
            rows = [("4000", "CC100", "VAT21", 21, D("-45.50"), D("-9.56"), None)]
        else:
            rows = [("4000", "CC100", "VAT21", 21, D("100.00") + index, D("21.00") + D("0.21") * index, None)]
        invoices.append(make_invoice(number, code, name, [_row(r) for r in rows]))
    invoices.append(
        make_invoice(
            "INV-2001",
            "1001",
            "Acme Supplies BV",
            [_row(("4999", "CC100", "VAT21", 21, D("80.00"), D("16.80"), None))],
        )
    )
    invoices.append(
        make_invoice(
            "INV-3001",
            "2001",
            "Umbrella Facilities",
            [_row(("4000", "CC100", "VAT21", 21, D("300.00"), D("63.00"), None))],
        )
    )
    return invoices


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("account_code", "cost_center_code", "tax_code", "tax_percent", "net", "tax", "project_code")
    return {key: value for key, value in zip(keys, values, strict=True) if value is not None}


def run_demo(*, clean_invoices: int = 6, timeout: float = 180.0) -> int:
    """Run the whole flow, print the outcome table; 0 when every invoice ended where it should."""
    started_at = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would bury the outcome
    folder = _fresh_folder()
    env = _demo_environment(folder)
    os.environ.update({k: v for k, v in env.items() if k.startswith("CONNECTOR_")})
    for name in ("CONNECTOR_DATABASE_URL", "CELERY_BROKER_URL", "CONNECTOR_SECRET_KEY"):
        os.environ.pop(name, None)

    svc = build_services()  # after the environment above: the demo's own database and key
    svc.db.upgrade()
    exact, basware = ExactSandbox(), BaswareSandbox()
    running = Started([ServerThread(exact.app).start(), ServerThread(basware.app).start()], [])
    try:
        prepare(svc, exact, basware, running)
        running.processes += start_celery(folder, env)
        invoices = demo_invoices(clean_invoices)
        sent_at = time.monotonic()
        for invoice in invoices:
            basware.add_invoice(invoice)
            basware.notify(invoice["invoiceId"])
        done = wait_settled(svc, len(invoices), timeout)
        elapsed = time.monotonic() - sent_at
        _print_outcome(svc, invoices, exact, elapsed, time.monotonic() - started_at, folder)
        paid = show_one_paid(svc, exact, basware) if done else False
        return 0 if done and paid else 1
    finally:
        running.stop()
        svc.close()


def _fresh_folder() -> Path:
    folder = load_settings().data_dir / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _demo_environment(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CONNECTOR_DATABASE_URL", "CELERY_BROKER_URL", "CONNECTOR_SECRET_KEY")
    }
    env["CONNECTOR_DATA_DIR"] = str(folder)
    return env


def prepare(svc: Any, exact: ExactSandbox, basware: BaswareSandbox, running: Started) -> None:
    """Register the demo apps in the sandboxes, add and authorize the tenant, serve and subscribe the receiver."""
    from connector.store import mappings, tenants
    from connector.sync import grants
    from webhook_receiver import create_app

    exact_url, basware_url = running.servers[0].url, running.servers[1].url
    redirect = "http://127.0.0.1:8765/exact/callback"
    exact.register_client(*EXACT_APP, redirect)
    division = exact.add_division()
    basware.register_client(*BASWARE_APP)
    basware.add_vendor(make_vendor("2001", "Umbrella Facilities", vat="NL005555555B01", city="Utrecht", country="NL"))
    tenant = tenants.add_tenant(
        svc.db,
        svc.box,
        name=TENANT,
        exact_region="NL",
        exact_base_url=exact_url,
        exact_client_id=EXACT_APP[0],
        exact_client_secret=EXACT_APP[1],
        exact_redirect_uri=redirect,
        basware_region="EU",
        basware_base_url=basware_url,
        basware_client_id=BASWARE_APP[0],
        basware_client_secret=BASWARE_APP[1],
        webhook_secret=WEBHOOK_SECRET,
        purchase_journal="60",
        auto_create_vendors=False,
    )
    mappings.put_many(svc.db, tenant.id, VAT_MAPPINGS)
    url, state = grants.consent_url(svc, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as consent:  # the sandbox consents at once
        callback = consent.headers["Location"]
    grants.complete_consent(svc, tenant, grants.code_from_callback(callback, state))
    receiver = ServerThread(create_app(svc)).start()
    running.servers.append(receiver)
    basware.subscribe(f"{receiver.url}/webhooks/basware/{TENANT}", WEBHOOK_SECRET)
    print(f"sandboxes: Exact {exact_url} (division {division}), Basware {basware_url}; receiver {receiver.url}")


def start_celery(folder: Path, env: dict[str, str], concurrency: int = 2) -> list[subprocess.Popen[bytes]]:
    """A Celery worker and beat as separate processes, each logging into the folder."""
    base = [sys.executable, "-m", "celery", "-A", "workers"]
    worker = [*base, "worker", "--loglevel", "INFO", "--concurrency", str(concurrency), "--without-gossip"]
    beat = [*base, "beat", "--loglevel", "INFO"]
    processes = []
    for name, command in (("worker", worker), ("beat", beat)):
        with (folder / f"{name}.log").open("wb") as log:
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    print(f"celery worker (pid {processes[0].pid}) and beat (pid {processes[1].pid}) started; logs in {folder}")
    return processes


def wait_settled(svc: Any, expected: int, timeout: float) -> bool:
    """Wait until `expected` records exist and each is written or blocked, and reported to Basware."""
    from connector.store import records

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records.list_records(svc.db)
        finished = [r for r, _ in found if (r.status, r.reported) in (("written", "success"), ("blocked", "failure"))]
        if len(found) >= expected and len(finished) == len(found):
            return True
        time.sleep(0.3)
    print(f"timed out after {timeout:.0f} s with records still in progress", file=sys.stderr)
    return False


def show_one_paid(svc: Any, exact: ExactSandbox, basware: BaswareSandbox) -> bool:
    """Pay the first written invoice in Exact, run the payment sync once, and show Basware calling it Paid."""
    from connector.store import records, tenants
    from connector.sync import payments

    written = [r for r, _ in records.list_records(svc.db, status="written") if r.kind == "invoice" and r.exact_id]
    if not written:
        return False
    record = written[0]
    exact.record_payment(exact.first_division(), str(record.exact_id), reference="DEMO-PAY-1")
    result = payments.sync_tenant_once(svc, tenants.get_tenant(svc.db, TENANT))
    status = basware.invoice(record.basware_id)["processingStatus"]
    print(
        f"\nPayment: {record.reference} paid in Exact ({record.currency} {record.gross}); the payment sync sent "
        f"{result.reported if result else 0} payment response(s) and Basware shows the invoice {status}."
    )
    return status == "Paid"


def _print_outcome(
    svc: Any, invoices: list[dict[str, Any]], exact: ExactSandbox, elapsed: float, wall: float, folder: Path
) -> None:
    from connector.store import records

    by_id = {r.basware_id: r for r, _ in records.list_records(svc.db)}
    rows = []
    for invoice in invoices:
        record = by_id.get(invoice["invoiceId"])
        status = record.status if record else "not received"
        detail = record.exact_number if record and record.status == "written" else (record.reason if record else "")
        rows.append(
            (
                invoice["invoiceNumber"],
                invoice["supplierName"],
                f"{invoice['currencyCode']} {invoice['grossSum']}",
                status,
                detail,
            )
        )
    print()
    print_table(["invoice", "supplier", "gross", "outcome", "Exact entry / reason"], rows)
    written = sum(1 for r in by_id.values() if r.status == "written")
    print(
        f"\n{written} purchase entries written, {len(invoices) - written} blocked; "
        f"{len(invoices)} invoices in {elapsed:.1f} s ({len(invoices) / elapsed:.2f} invoices/s), "
        f"demo wall time {wall:.1f} s"
    )
    print(
        f"\nWhere to look next (with CONNECTOR_DATA_DIR={folder}):\n"
        "  ml-connector records list --status blocked     the blocked invoices and why\n"
        "  ml-connector records show ID                   every problem per line, and the audit trail\n"
        "  ml-connector mappings / replay                 fix a mapping, then replay the record"
    )
