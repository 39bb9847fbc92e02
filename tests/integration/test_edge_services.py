"""Each edge builds its own Services: a forked worker process never uses its parent's pool, a CLI command closes
what it opened and leaves alone what it was given, and a grant found dead tells the operator whichever edge
found it."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.store import audit
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector.context import Context
from tests.support import plain_tenant
from workers import context as worker_context


@pytest.fixture
def shell(tmp_path: Path, secret_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The environment a worker or a command reads its settings from: SQLite in a fresh folder."""
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.delenv("CONNECTOR_DATABASE_URL", raising=False)
    yield tmp_path
    worker_context.close()


def test_a_worker_process_keeps_its_services_and_a_forked_child_builds_its_own(shell: Path) -> None:
    parent = worker_context.services()
    assert worker_context.services() is parent  # one per process: clients and their caches are reused

    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12 warns on fork with threads; the child only answers and exits
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: a new process, as Celery's prefork pool makes them
        child = worker_context.services()
        os.write(write, b"own" if child is not parent and child.db is not parent.db else b"shared")
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    answer = os.read(read, 16)
    os.close(read)

    assert answer == b"own"
    assert worker_context.services() is parent


def test_a_test_can_run_task_bodies_on_its_own_services_and_gets_the_process_ones_back(
    shell: Path, sqlite_services: Services
) -> None:
    before = worker_context.services()

    with worker_context.using(sqlite_services):
        assert worker_context.services() is sqlite_services

    assert worker_context.services() is before


def test_a_command_closes_the_services_it_built_and_not_the_ones_it_was_given(
    shell: Path, sqlite_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Context()
    svc = built.services
    assert built.services is svc  # built once, on first use
    closed: list[Services] = []
    monkeypatch.setattr(svc, "close", lambda: closed.append(svc))
    monkeypatch.setattr(sqlite_services, "close", lambda: closed.append(sqlite_services))

    built.close()
    Context(sqlite_services).close()

    assert closed == [svc]
    svc.db.dispose()


def test_every_edge_tells_the_operator_when_it_finds_a_grant_dead(sqlite_services: Services) -> None:
    edge = build_services(sqlite_services.settings)  # what the CLI, a worker or the receiver builds
    tenant = plain_tenant(edge)
    edge.token_store(tenant).mark_dead("the refresh token was revoked in Exact")

    reminders = [row for row in audit.entries(edge.db, tenant_id=tenant.id) if row["event"] == "reauth_reminder"]
    assert len(reminders) == 1 and "revoked" in reminders[0]["message"] and reminders[0]["at"] <= time.time()
    edge.close()
