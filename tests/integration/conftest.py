"""The production shape: PostgreSQL, Redis as broker, a real Celery worker process, sandboxes over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import records
from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.integration.receiving import Enqueued
from tests.support import Sandboxes, add_tenant

# The session worker's process id, for tests that kill its pool processes on purpose.
WORKER_PIDS: dict[str, int] = {}
# Where the session worker serves its Prometheus metrics (multiprocess, from its main process).
WORKER_METRICS: dict[str, str] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def sandboxes() -> Iterator[Sandboxes]:
    exact, basware = ExactSandbox(), BaswareSandbox()
    exact.add_division()
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        yield Sandboxes(exact, basware, exact_server.url, basware_server.url)


@pytest.fixture(scope="session")
def celery_app(redis_url: str, celery_queue: str):  # type: ignore[no-untyped-def]
    """The project's Celery app, publishing to the test Redis on this session's own queue."""
    from workers.app import app

    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    app.conf.task_default_queue = celery_queue
    yield app
    app.pool.force_close_all()


def worker_environment(
    pg_url: str, redis_url: str, secret_key: str, data_dir: Path, queue: str = "connector"
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CONNECTOR_DATABASE_URL=pg_url,
        CELERY_BROKER_URL=redis_url,
        CONNECTOR_SECRET_KEY=secret_key,
        CONNECTOR_DATA_DIR=str(data_dir),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    return env


@pytest.fixture(scope="session")
def worker(  # type: ignore[no-untyped-def]
    celery_app,
    celery_queue: str,
    pg_url: str,
    redis_url: str,
    secret_key: str,
    pg_services: Services,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """A real `celery -A workers worker` process on PostgreSQL and Redis; yields its log file."""
    data_dir = tmp_path_factory.mktemp("worker")
    log_path = data_dir / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "3",
        "--without-gossip",
        "--without-mingle",
        "-Q",
        celery_queue,
        "-n",
        f"{celery_queue}@%h",
    ]
    env = worker_environment(pg_url, redis_url, secret_key, data_dir, celery_queue)
    metrics_port = free_port()
    env.update(PROMETHEUS_MULTIPROC_DIR=str(data_dir / "metrics"), CONNECTOR_WORKER_METRICS_PORT=str(metrics_port))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(celery_app, process, log_path, f"{celery_queue}@{socket.gethostname()}")
        WORKER_PIDS["main"] = process.pid
        WORKER_METRICS["url"] = f"http://127.0.0.1:{metrics_port}/metrics"
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(app, process: subprocess.Popen[bytes], log_path: Path, node: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-3000:]}")
        if app.control.ping(destination=[node], timeout=0.5):  # ours only: other sessions share Redis
            return
    raise RuntimeError(f"worker did not answer a ping:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def receiver(pg_services: Services, celery_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The webhook app over HTTP, enqueueing real Celery chains; yields its base URL."""
    from webhook_receiver import create_app
    from workers.tasks import start_chain

    with ServerThread(create_app(pg_services, enqueue=start_chain)) as server:
        yield server.url


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until the condition holds (the worker runs in another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(svc: Services, record_id: int) -> bool:
    """The record is written and reported, or blocked and reported."""
    record = records.get(svc.db, record_id)
    return (record.status, record.reported) in (("written", "success"), ("blocked", "failure"))


@pytest.fixture
def enqueued() -> Enqueued:
    """What the receiver handed to the broker (a stand-in that can fail)."""
    return Enqueued()


@pytest.fixture
def receiver_url(pg_services: Services, enqueued: Enqueued) -> Iterator[str]:
    """A real receiver on PostgreSQL, publishing to `enqueued`."""
    from webhook_receiver import create_app

    with ServerThread(create_app(pg_services, enqueue=enqueued)) as server:
        yield server.url


@pytest.fixture
def tenant(pg_services: Services, sandboxes: Sandboxes) -> Tenant:
    """A tenant registered in the sandboxes, not consented (nothing calls Exact)."""
    return add_tenant(pg_services, sandboxes, authorize=False)
