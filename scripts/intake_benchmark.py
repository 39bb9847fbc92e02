"""Intake cost: the receiver against a bare Flask + HMAC endpoint, same gunicorn settings. Prints figures only.

    .venv/bin/python scripts/intake_benchmark.py [--tree PATH ...] [--rate 100 --rate 500] [--seconds 8]

Each server runs under `gunicorn --config python:webhook_receiver.gunicorn_conf --workers 2 --timeout 30` (the
docker-compose receiver's command) on loopback:

- bare: a Flask app that only checks an HMAC-SHA256 of the body and answers 202;
- real: `webhook_receiver:create_app()` on a fresh PostgreSQL database (the inbox) with Redis as broker, from
  each `--tree` given (default: this checkout), so a baseline and a candidate are measured in the same run.

The load generator is an asyncio HTTP/1.1 keep-alive client in this process: every request carries a new task
and document id, signed with the tenant's secret (prepared before the clock starts). Two phases per server:
a fixed rate (open loop: latency counts from when a request was due, so a stalled server is not hidden) and
as fast as `--connections` connections go. Bounded in count and time. The client shares the machine's cores
with the servers, so the bare figure is a floor; the ratio real/bare is what to compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = "intake-benchmark-webhook-secret-0123456789abcdef"  # a throwaway tenant's, loopback only
HEADER = "X-BW-Signature"
TENANT = "bench"
GUNICORN = ["--config", "python:webhook_receiver.gunicorn_conf", "--workers", "2", "--timeout", "30"]
PG_ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"


def bare_app():  # type: ignore[no-untyped-def]
    """The floor: verify an HMAC-SHA256 over the body, answer 202 (gunicorn calls this in each worker)."""
    from flask import Flask, jsonify, request

    app = Flask("bare")
    key = SECRET.encode()

    @app.post("/webhooks/basware/<tenant_name>")
    def receive(tenant_name: str):  # type: ignore[no-untyped-def]
        body = request.get_data()
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get(HEADER, "")):
            return jsonify(error="signature missing or not valid"), 401
        return jsonify(status="accepted"), 202

    return app


# -- servers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(statement)
    conn.close()


@dataclass
class Server:
    """A gunicorn master on a port, and what to clean up after it."""

    label: str
    port: int
    process: subprocess.Popen[bytes]
    database: str | None = None
    queue: str | None = None
    env: dict[str, str] | None = None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.queue:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            client.delete(self.queue)
            client.close()
        if self.database:
            admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


def gunicorn(label: str, app: str, tree: Path, env: dict[str, str], log: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", "--chdir", str(tree), app]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=out)
    wait_listening(port, process, log)
    return port, process


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not listen within 60 s; see {log}")


def start_bare(folder: Path) -> Server:
    env = dict(os.environ, PYTHONPATH=str(HERE))
    port, process = gunicorn("bare", "intake_benchmark:bare_app()", HERE.parent, env, folder / "bare.log")
    return Server("bare Flask + HMAC", port, process)


def start_real(tree: Path, folder: Path) -> Server:
    """The receiver from `tree` on a database and queue of its own, with one tenant whose secret is SECRET."""
    name = f"mlc_intake_{uuid.uuid4().hex[:8]}"
    admin(f"CREATE DATABASE {name}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "CELERY_", "PROMETHEUS_"))}
    metrics = folder / f"metrics-{name}"
    env.update(
        PYTHONPATH=str(tree),
        CONNECTOR_DATA_DIR=str(folder / name),
        CONNECTOR_DATABASE_URL=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
        CONNECTOR_SECRET_KEY=_key(),
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=name,  # a queue of its own: other runs share this Redis; nobody consumes it
        PROMETHEUS_MULTIPROC_DIR=str(metrics),  # as in docker-compose
    )
    subprocess.run([sys.executable, __file__, "--prepare"], cwd=tree, env=env, check=True)
    log = folder / f"{name}.log"
    port, process = gunicorn("real", "webhook_receiver:create_app()", tree, env, log)
    return Server(f"receiver {tree}", port, process, database=name, queue=name, env=env)


def _key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def prepare() -> None:
    """In the tree's own code (sys.path from PYTHONPATH): schema, and the benchmark's tenant."""
    from connector.store import tenants
    from connector.wiring import build_services

    svc = build_services()
    svc.db.upgrade()
    tenants.add_tenant(
        svc.db,
        svc.box,
        name=TENANT,
        exact_region="NL",
        exact_base_url="http://127.0.0.1:9",
        exact_client_id="exact-bench",
        exact_client_secret="exact-secret",
        exact_redirect_uri="http://127.0.0.1:9/callback",
        basware_region="EU",
        basware_base_url="http://127.0.0.1:9",
        basware_client_id="basware-bench",
        basware_client_secret="basware-secret",
        webhook_secret=SECRET,
        purchase_journal="60",
        auto_create_vendors=False,
    )
    svc.close()


def drain() -> None:
    """In the tree's own code: publish what the receiver committed, as a worker's dispatcher does, and time it."""
    from connector.store import inbox
    from connector.wiring import build_services
    from workers.tasks import start_chain

    svc = build_services()
    waiting = len(inbox.unpublished(svc.db))
    started = time.perf_counter()
    while inbox.dispatch(svc.db, start_chain):
        pass
    took = time.perf_counter() - started
    print(
        f"  {'dispatcher (a worker, off the request path)':<40} published {waiting} chains in {took:.1f} s: "
        f"{waiting / took if took else 0:.0f} a second"
    )
    svc.close()


def run_drain(tree: Path, server: Server) -> None:
    """After the load: how fast a worker's dispatcher puts what was committed on the broker (new trees only)."""
    if not (tree / "workers" / "dispatcher.py").exists():
        return  # a tree from before the dispatcher published in the request
    subprocess.run([sys.executable, __file__, "--drain"], cwd=tree, env=server.env, check=True)


# -- load -------------------------------------------------------------------------------------------------


def requests_for(count: int) -> list[bytes]:
    """`count` raw HTTP requests, each a new signed notification for a new document."""
    run = uuid.uuid4().hex[:12]
    out = []
    for i in range(count):
        body = json.dumps(
            {
                "taskId": f"{run}-{i}",
                "taskStatus": "New",
                "taskType": "AccountingDocuments",
                "taskSubType": "WaitingForTransfer",
                "documentId": f"doc-{run}-{i}",
            }
        ).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        head = (
            f"POST /webhooks/basware/{TENANT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{HEADER}: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


@dataclass
class Result:
    """What one phase measured."""

    sent: int
    seconds: float
    latencies: list[float]  # seconds, successful answers only
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _load(port: int, raws: list[bytes], connections: int, rate: float | None, seconds: float) -> Result:
    """Send `raws` over `connections` keep-alive connections, at `rate` a second (None: as fast as they go)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    start = time.perf_counter() + 0.05
    stop = start + seconds

    async def one_connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(raws):
                index = next_index
                next_index += 1
                due = start + index / rate if rate else time.perf_counter()
                if due >= stop:
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                status = await _exchange(reader, writer, raws[index])
                statuses[status] = statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    latencies.append(time.perf_counter() - due)
        finally:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return Result(next_index, seconds if rate else time.perf_counter() - start, latencies, statuses)


def run_phase(port: int, connections: int, rate: float | None, seconds: float, cap: int) -> Result:
    count = int(rate * seconds) if rate else cap
    asyncio.run(_load(port, requests_for(200), min(connections, 8), None, 1.0))  # warm the pools, not timed
    raws = requests_for(count)
    return asyncio.run(_load(port, raws, connections, rate, seconds))


def describe(label: str, phase: str, result: Result) -> str:
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items()))
    return (
        f"  {label:<40} {phase:<12} {result.rate:8.0f} req/s   p50 {result.percentile(50):7.1f} ms  "
        f"p95 {result.percentile(95):7.1f} ms  p99 {result.percentile(99):7.1f} ms   ({codes})"
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--drain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", action="append", type=Path, help="a checkout whose receiver to measure")
    parser.add_argument("--rate", type=float, action="append", help="a fixed-rate phase, requests a second (500)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=60000, help="cap of the as-fast-as-possible phase")
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return 0
    if args.drain:
        drain()
        return 0
    trees = [tree.resolve() for tree in (args.tree or [HERE.parent])]
    rates = args.rate or [500.0]
    folder = Path(tempfile.mkdtemp(prefix="mlc-intake-"))
    print(f"load average before: {load_average()}; logs in {folder}")
    results: dict[str, dict[str, Result]] = {}
    starters = [("bare", lambda: start_bare(folder))] + [(str(t), lambda t=t: start_real(t, folder)) for t in trees]
    for key, starter in starters:
        server = starter()
        try:
            results[key] = {}
            for rate in [*rates, None]:
                result = run_phase(server.port, args.connections, rate, args.seconds, args.max_requests)
                phase = f"{rate:.0f}/s" if rate else f"max c={args.connections}"
                print(describe(server.label, phase, result), flush=True)
                results[key][phase] = result
            if key != "bare":
                run_drain(Path(key), server)
        finally:
            server.stop()
    print(f"load average after: {load_average()}")
    fastest = f"max c={args.connections}"
    bare = results["bare"][fastest].rate
    for tree in trees:
        real = results[str(tree)]
        p99 = ", ".join(f"p99 at {rate:.0f}/s {real[f'{rate:.0f}/s'].percentile(99):.1f} ms" for rate in rates)
        print(f"  {str(tree):<40} real/bare at max {real[fastest].rate / bare:.2f} (target >= 0.35); {p99}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
