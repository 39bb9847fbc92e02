"""Throughput, latency and Exact calls per invoice, measured on the whole stack. Prints figures; asserts nothing.

    .venv/bin/python scripts/benchmark.py [--backend embedded|postgres-redis] [--invoices 60] [--concurrency 2]
    .venv/bin/python scripts/benchmark.py --budget [--limit 30] [--tenants 1|2] [--invoices 60] [--concurrency 2]

Both sandboxes and the receiver run in this process, the Celery worker and beat in their own processes,
exactly as in `ml-connector demo`. After a warm-up (master data cached, vendors mapped) it sends N signed
notifications and measures: receiver answer time per notification, time until every invoice is written and
reported, and Exact API calls per invoice.

`--budget` runs the same stack against Exact's rate limit: the Exact sandbox allows `--limit` calls a minute per
app and division (Exact's fixed windows), N invoices arrive at once, and the run prints what Exact would see:
calls per invoice, the share of each fixed minute's budget that became purchase entries, 429s, and invoices per
minute. With `--tenants 2`, two tenants (each with its own Basware) write into one division through one Exact app,
so they share one budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

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
            CELERY_TASK_DEFAULT_QUEUE=name,  # a queue of its own: other runs may share this Redis
            CONNECTOR_SECRET_KEY=generate_key(),
        )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "postgres-redis"], default="embedded")
    parser.add_argument("--invoices", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--budget", action="store_true", help="measure against Exact's rate limit (see above)")
    parser.add_argument("--limit", type=int, default=30, help="the Exact sandbox's calls a minute (--budget)")
    parser.add_argument("--tenants", type=int, choices=[1, 2], default=1, help="tenants sharing one app (--budget)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlc-bench-"))
    env = environment(args.backend, folder)
    # The governor keeps to the configured limit: the sandbox's in budget mode, out of the way otherwise.
    env["CONNECTOR_EXACT_MINUTE_LIMIT"] = str(args.limit) if args.budget else "100000"
    env["CONNECTOR_EXACT_DAY_LIMIT"] = "1000000"
    for key in [k for k in os.environ if k.startswith(("CONNECTOR_", "CELERY_"))]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CONNECTOR_", "CELERY_"))})
    svc = build_services()  # after the environment above: the benchmark's own database and key
    svc.db.upgrade()
    try:
        return run_budget(args, env, folder, svc) if args.budget else run_throughput(args, env, folder, svc)
    finally:
        svc.close()
        if args.backend == "postgres-redis":
            admin(f"DROP DATABASE IF EXISTS {env['CONNECTOR_DATABASE_URL'].rsplit('/', 1)[1]} WITH (FORCE)")


def run_throughput(args: argparse.Namespace, env: dict[str, str], folder: Path, svc: Any) -> int:
    """Receiver latency and end-to-end throughput with Exact's limits out of the way."""
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


# -- budget mode ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One division call as the Exact sandbox answered it: what Exact itself counts."""

    at: float
    method: str
    path: str
    status: int

    @property
    def is_write(self) -> bool:
        return self.method == "POST" and self.path.endswith("/purchaseentry/PurchaseEntries") and self.status == 201


class CallLog:
    """Records every division call the sandbox answers, by wrapping its WSGI app (the sandbox is not changed)."""

    def __init__(self, sandbox: ExactSandbox) -> None:
        self.calls: list[Call] = []
        self._sandbox = sandbox
        self._inner = sandbox.app.wsgi_app
        self._lock = threading.Lock()
        sandbox.app.wsgi_app = self  # type: ignore[method-assign]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        statuses: list[int] = []

        def noting(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status[:3]))
            return start_response(status, headers, exc_info)

        result = self._inner(environ, noting)
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/current/"):
            with self._lock:
                self.calls.append(Call(self._sandbox.now(), environ["REQUEST_METHOD"], path, statuses[0]))
        return result


def run_budget(args: argparse.Namespace, env: dict[str, str], folder: Path, svc: Any) -> int:
    """N invoices at once against a limit of L calls a minute; prints what became of each fixed minute."""
    exact = ExactSandbox(minute_limit=args.limit, day_limit=1_000_000, access_token_lifetime=86400)
    log = CallLog(exact)
    baswares = [BaswareSandbox() for _ in range(args.tenants)]
    running = Started([ServerThread(exact.app).start(), ServerThread(baswares[0].app).start()], [])
    try:
        prepare(svc, exact, baswares[0], running)
        if args.tenants == 2:
            add_sharing_tenant(svc, baswares[1], running)
        running.processes += start_celery(folder, env, args.concurrency)
        for offset, basware in zip(TENANT_OFFSETS, baswares, strict=False):
            for index in range(3):
                basware.notify(basware.add_invoice(invoice(offset + index)))
        if not wait_settled(svc, 3 * len(baswares), 300):
            return 1
        mark = len(log.calls)
        ids = [
            (basware, basware.add_invoice(invoice(offset + index)))
            for index in range(3, 3 + args.invoices // len(baswares))
            for offset, basware in zip(TENANT_OFFSETS, baswares, strict=False)
        ]
        started = time.monotonic()
        for basware, invoice_id in ids:
            basware.notify(invoice_id)
        if not wait_settled(svc, 3 * len(baswares) + len(ids), 1200):
            return 1
        elapsed = time.monotonic() - started
        print_budget(args, log.calls[:mark], log.calls[mark:], len(ids), elapsed)
        return 0
    finally:
        running.stop()


TENANT_OFFSETS = (0, 50_000)  # distinct invoice numbers: both tenants write into one division


def add_sharing_tenant(svc: Any, basware: BaswareSandbox, running: Started) -> None:
    """A second tenant on the demo tenant's Exact app and division, with a Basware of its own.

    The sandbox keeps one grant per app, so the second tenant gets a copy of the first one's tokens (the
    sandbox's access tokens live a day here, so neither refreshes and rotates the other's away).
    """
    from connector.demo import BASWARE_APP, TENANT, VAT_MAPPINGS, WEBHOOK_SECRET

    from connector.store import mappings, tenants

    server = ServerThread(basware.app).start()
    running.servers.append(server)
    basware.register_client(*BASWARE_APP)
    first = tenants.get_tenant(svc.db, TENANT)
    second = tenants.add_tenant(
        svc.db,
        svc.box,
        name="demo2",
        exact_region=first.exact_region,
        exact_base_url=first.exact_base_url,
        exact_client_id=first.exact_client_id,
        exact_client_secret=first.secret("exact_client_secret", svc.box),
        exact_redirect_uri=first.exact_redirect_uri,
        basware_region="EU",
        basware_base_url=server.url,
        basware_client_id=BASWARE_APP[0],
        basware_client_secret=BASWARE_APP[1],
        webhook_secret=WEBHOOK_SECRET,
        purchase_journal="60",
        auto_create_vendors=False,
    )
    mappings.put_many(svc.db, second.id, VAT_MAPPINGS)
    stored = svc.token_store(first).load()
    svc.token_store(second).save(stored)
    tenants.update_tenant(svc.db, second.id, exact_division=first.exact_division)
    basware.subscribe(f"{running.servers[2].url}/webhooks/basware/demo2", WEBHOOK_SECRET)


def print_budget(args: argparse.Namespace, before: list[Call], run: list[Call], invoices: int, seconds: float) -> None:
    """Calls per invoice, budget use over the fixed minutes the run spans, 429s, invoices per minute."""
    minute = lambda call: int(call.at // 60)  # noqa: E731 - Exact's windows are fixed clock minutes
    spanned = list(range(minute(run[0]), minute(run[-1]) + 1))
    print(
        f"\nbudget: limit {args.limit}/min, {invoices} invoices, {args.concurrency} worker processes, "
        f"{args.tenants} tenant(s) on one app and division, backend {args.backend}"
    )
    print("  minute   calls  writes  429s  (calls before the run in that minute)")
    for number in spanned:
        in_minute = [c for c in run if minute(c) == number]
        earlier = sum(1 for c in before if minute(c) == number)
        print(
            f"  {number - spanned[0]:>6} {len(in_minute):>7} {sum(c.is_write for c in in_minute):>7} "
            f"{sum(c.status == 429 for c in in_minute):>5}  ({earlier})"
        )
    # The last minute is where the work ran out: its unused calls are no waste, so it is left out of the share.
    full = spanned[:-1] or spanned
    available = sum(args.limit - sum(1 for c in before if minute(c) == n) for n in full)
    writes = sum(1 for c in run if c.is_write and minute(c) in full)
    print(f"  Exact calls per invoice   {len(run) / invoices:.3f}  ({len(run)} calls)")
    print(
        f"  budget use                {writes / available:.1%}  ({writes} writes of {available} calls available "
        f"in {len(full)} full minute(s))"
    )
    print(f"  429 answers               {sum(c.status == 429 for c in run)}")
    print(
        f"  invoices per minute       {invoices / seconds * 60:.1f}  ({seconds:.0f} s; the limit allows "
        f"{args.limit} writes a minute)"
    )


if __name__ == "__main__":
    sys.exit(main())
