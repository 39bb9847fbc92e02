"""Throughput, latency and Exact calls per invoice, measured on the whole stack. Prints figures; asserts nothing.

    .venv/bin/python scripts/benchmark.py [--backend embedded|postgres-redis] [--invoices 60] [--concurrency 2]

Both sandboxes and the receiver run in this process, the Celery worker and beat in their own processes,
exactly as in `ml-connector demo`. After a warm-up (master data cached, vendors mapped) it sends N signed
notifications and measures: receiver answer time per notification, time until every invoice is written and
reported, and Exact API calls per invoice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2

from connector.crypto import generate_key
from connector.sandbox.basware import BaswareSandbox, make_invoice
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.wiring import build_services
from ml_connector.demo import Started, prepare, start_celery, wait_settled

SUPPLIERS = [("1001", "Acme Supplies BV"), ("1002", "Globex Office Supplies"), ("1003", "Initech Logistics")]


def invoice(index: int) -> dict[str, object]:
    code, name = SUPPLIERS[index % 3]
    net = Decimal("100.00") + Decimal(index) / 100
    return make_invoice(
        f"BENCH-{index:05d}",
        code,
        name,
        [
            {
                "account_code": "4000",
                "cost_center_code": "CC100",
                "tax_code": "VAT21",
                "tax_percent": 21,
                "net": net,
                "tax": (net * Decimal("0.21")).quantize(Decimal("0.01")),
            },
            {
                "account_code": "4010",
                "cost_center_code": "CC200",
                "tax_code": "VAT9",
                "tax_percent": 9,
                "net": Decimal("10.00"),
                "tax": Decimal("0.90"),
            },
        ],
    )


def admin(statement: str) -> None:
    conn = psycopg2.connect("host=127.0.0.1 user=postgres dbname=postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(statement)
    conn.close()


def environment(backend: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "CELERY_"))}
    env["CONNECTOR_DATA_DIR"] = str(folder)
    if backend == "postgres-redis":
        name = f"mlc_bench_{uuid.uuid4().hex[:8]}"
        admin(f"CREATE DATABASE {name}")
        env.update(
            CONNECTOR_DATABASE_URL=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
            CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
            CONNECTOR_SECRET_KEY=generate_key(),
        )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "postgres-redis"], default="embedded")
    parser.add_argument("--invoices", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-"))
    env = environment(args.backend, folder)
    for key in [k for k in os.environ if k.startswith(("CONNECTOR_", "CELERY_"))]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CONNECTOR_", "CELERY_"))})
    svc = build_services()  # after the environment above: the benchmark's own database and key
    svc.db.upgrade()
    exact, basware = ExactSandbox(minute_limit=100000, day_limit=1000000), BaswareSandbox()
    running = Started([ServerThread(exact.app).start(), ServerThread(basware.app).start()], [])
    try:
        prepare(svc, exact, basware, running)
        running.processes += start_celery(folder, env, args.concurrency)
        warm = [invoice(i) for i in range(3)]
        for doc in warm:
            basware.notify(basware.add_invoice(doc))
        if not wait_settled(svc, len(warm), 120):
            return 1
        division = 100001
        calls_before = exact.api_calls[division] + getattr(exact, "me_calls", 0)
        docs = [invoice(i) for i in range(3, 3 + args.invoices)]
        ids = [basware.add_invoice(doc) for doc in docs]
        answer_ms = []
        started = time.monotonic()
        for invoice_id in ids:
            sent = time.monotonic()
            basware.notify(invoice_id)
            answer_ms.append((time.monotonic() - sent) * 1000)
        if not wait_settled(svc, len(warm) + len(ids), 600):
            return 1
        elapsed = time.monotonic() - started
        calls = exact.api_calls[division] + getattr(exact, "me_calls", 0) - calls_before
        quantiles = statistics.quantiles(answer_ms, n=20)
        print(f"\nbackend {args.backend}, {args.invoices} invoices, worker concurrency {args.concurrency}")
        print(f"  end to end          {elapsed:.2f} s  ({args.invoices / elapsed:.2f} invoices/s)")
        print(f"  receiver answer     p50 {statistics.median(answer_ms):.1f} ms, p95 {quantiles[18]:.1f} ms")
        print(f"  Exact calls         {calls} ({calls / args.invoices:.2f} per invoice after warm-up)")
        return 0
    finally:
        running.stop()
        svc.close()
        if args.backend == "postgres-redis":
            admin(f"DROP DATABASE IF EXISTS {env['CONNECTOR_DATABASE_URL'].rsplit('/', 1)[1]} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
