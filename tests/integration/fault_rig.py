"""A whole connector in real processes on private services, for fault tests that kill and restart things.

Each rig has its own Redis (in memory: a restart loses its queue) and its own PostgreSQL cluster, so a test can
stop and start them without touching the shared services other test sessions use; its own worker process group
(killed with SIGKILL as a machine loses it, its inbox dispatcher with it), its own receiver (gunicorn), and a
small beat that runs the stalled-record sweep every few seconds, as beat does every 30 s.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from connector.errors import ConnectorError
from connector.sandbox.basware import BaswareSandbox, make_invoice
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import records
from connector.store.tenants import Tenant
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.integration.conftest import free_port, worker_environment
from tests.support import Sandboxes, add_tenant, notification, signed_headers

DIVISION = 100001
STALL_AFTER = 5  # seconds: the sweep's CONNECTOR_STALL_AFTER here (120 s in production)
# The rig's beat: the task bodies, in a process configured like the worker, every two seconds. (The inbox is
# published by the worker's own dispatcher, not by beat.)
BEAT = """
import time
from workers.tasks import resume_stalled_records
while True:
    for task in (resume_stalled_records,):
        try:
            task.run()
        except Exception as exc:  # a service down: the next round tries again, as beat would
            print("beat:", task.name, type(exc).__name__, exc, flush=True)
    time.sleep(2)
"""


def _pg_bin(name: str) -> str:
    return sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1]


def _as_postgres(command: str) -> None:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root."""
    argv = ["su", "postgres", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port (trust authentication, no fsync)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="mlc-faults-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.port = free_port()
        _as_postgres(f"{_pg_bin('initdb')} -D {self.folder}/data -A trust -U postgres --no-sync > /dev/null")
        self.start()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c fsync=off -c listen_addresses=127.0.0.1"
        _as_postgres(f"{_pg_bin('pg_ctl')} -D {self.folder}/data -o '{options}' -l {self.folder}/log -w start")

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(f"{_pg_bin('pg_ctl')} -D {self.folder}/data -m {mode} -w stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A Redis without persistence on a free port: stopping it loses every queued task."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _answers(self.port), 30, "redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # no save: its queue is gone, as when a container without a volume restarts
            self.process.wait()
            self.process = None


def _answers(port: int) -> bool:
    import redis

    with suppress(redis.RedisError):
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    """A child in its own process group, its output in a log file; `kill()` is SIGKILL to the whole group."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Rig:
    """Private Redis and PostgreSQL, sandboxes, a receiver, a worker and a beat, all real; see the module doc."""

    def __init__(self, secret_key: str, folder: Path, sandboxes: Sandboxes) -> None:
        self.folder, self.sandboxes = folder, sandboxes
        self.redis, self.postgres = PrivateRedis(), PrivatePostgres()
        self.env = worker_environment(self.postgres.url, self.redis.url, secret_key, folder / "data")
        self.env.update(CONNECTOR_STALL_AFTER=str(STALL_AFTER), PYTHONUNBUFFERED="1")
        self.svc = build_services(make_settings(folder / "data", self.postgres.url, secret_key))
        self.svc.db.upgrade()
        self.tenant: Tenant = add_tenant(self.svc, sandboxes)
        self.worker: Process | None = None
        self.workers_started = 0
        self.children: list[Process] = []
        self.receiver_url = self._start_receiver()

    # -- processes ---------------------------------------------------------------------------------

    def start_worker(self) -> None:
        """A new `celery -A workers worker`, waited for until it is ready to take tasks."""
        self.workers_started += 1
        log = self.folder / f"worker-{self.workers_started}.log"
        command = [sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel", "INFO",
                   "--concurrency", "3", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"faults{self.workers_started}-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip
        self.worker = self._spawn(command, log)
        wait_until(lambda: "ready." in log.read_text(errors="replace") or self.worker.popen.poll() is not None,
                    90, "the worker to be ready")  # fmt: skip
        assert self.worker.popen.poll() is None, self.worker.tail()

    def kill_worker(self) -> None:
        """SIGKILL to the worker's whole process group: the main process and its pool, mid-task."""
        assert self.worker is not None
        self.worker.kill()
        self.worker = None

    def start_beat(self) -> None:
        self._spawn([sys.executable, "-c", BEAT], self.folder / "beat.log")

    def _start_receiver(self) -> str:
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                   "--threads", "4", "webhook_receiver:create_app()"]  # fmt: skip
        self._spawn(command, self.folder / "receiver.log")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ready(url), 60, "the receiver to answer")
        return url

    def _spawn(self, command: list[str], log: Path) -> Process:
        process = Process(command, self.env, log)
        self.children.append(process)
        return process

    def close(self) -> None:
        for process in self.children:
            process.kill()
        self.svc.close()
        self.redis.stop()
        self.postgres.remove()

    # -- the batch ---------------------------------------------------------------------------------

    def send_batch(self, count: int, prefix: str = "FLT") -> dict[str, str]:
        """`count` invoices added in Basware and notified to the receiver; {basware id: invoice number}."""
        batch = {}
        for n in range(count):
            number = f"{prefix}-{uuid.uuid4().hex[:6]}-{n}"
            invoice_id = self.sandboxes.basware.add_invoice(
                make_invoice(number, "1002", "Globex Office Supplies", [ROW])
            )
            body = notification(invoice_id)
            response = requests.post(f"{self.receiver_url}/webhooks/basware/{self.tenant.name}", data=body,
                                     headers=signed_headers(body), timeout=30)  # fmt: skip
            assert response.status_code == 202, response.text
            batch[invoice_id] = number
        return batch

    def records(self) -> list[records.Record]:
        return [record for record, _ in records.list_records(self.svc.db, tenant_id=self.tenant.id)]

    def settled(self, batch: dict[str, str]) -> bool:
        """Every record of the batch written and reported (False while the database cannot be read)."""
        try:
            done = {r.basware_id for r in self.records() if (r.status, r.reported) == ("written", "success")}
        except ConnectorError:  # StorageUnavailable: the database may be restarting under the test
            return False
        return set(batch) <= done

    def wait_settled(self, batch: dict[str, str], timeout: float = 150) -> float:
        """Seconds until the whole batch is written and reported; fails with the stragglers after `timeout`."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.settled(batch):
                return time.monotonic() - started
            time.sleep(0.5)
        left = [(r.basware_id, r.status, r.step, r.reported, r.reason) for r in self.records()
                if (r.status, r.reported) != ("written", "success")]  # fmt: skip
        raise AssertionError(f"not settled after {timeout} s: {left}")

    def assert_each_once(self, batch: dict[str, str]) -> None:
        """One purchase entry in Exact and one transfer response in Basware for every invoice of the batch."""
        entries = Counter(e["YourRef"] for e in self.sandboxes.exact.purchase_entries(DIVISION))
        assert {number: entries[number] for number in batch.values()} == dict.fromkeys(batch.values(), 1)
        responses = {i: self.sandboxes.basware.invoice(i)["transferResponses"] for i in batch}
        assert {i: len(r) for i, r in responses.items()} == dict.fromkeys(batch, 1)
        transferred = {i: self.sandboxes.basware.invoice(i)["processingStatus"] for i in batch}
        assert transferred == dict.fromkeys(batch, "Transferred")
        assert len(self.records()) == len(batch)


def _ready(url: str) -> bool:
    with suppress(requests.RequestException):
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    return False


ROW = {"account_code": "4030", "cost_center_code": "CC300", "tax_code": "VAT21", "tax_percent": 21,
       "net": Decimal("512.34"), "tax": Decimal("107.59")}  # fmt: skip


@contextmanager
def rig(secret_key: str, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A rig with fresh sandboxes; everything it started is stopped at the end, its logs kept if a test failed."""
    folder = Path(tempfile.mkdtemp(prefix="mlc-faults-"))
    failed_before = request.session.testsfailed
    exact, basware = ExactSandbox(), BaswareSandbox()
    exact.add_division()
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        built = Rig(secret_key, folder, Sandboxes(exact, basware, exact_server.url, basware_server.url))
        try:
            yield built
        finally:
            built.close()
    if request.session.testsfailed == failed_before:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"fault rig logs kept in {folder}")
