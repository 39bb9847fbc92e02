"""Bounded everything: a step that keeps killing its worker is set aside, a transfer response interrupted mid-send
is sent again as the same response, and a database that stops answering gives 503 within seconds."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from celery.exceptions import Ignore

from connector.errors import Postponed
from connector.sandbox.basware import make_invoice
from connector.sandbox.server import ServerThread
from connector.store import records
from connector.sync import steps
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.integration.receiving import Enqueued, post_to
from tests.integration.test_mapping_helpers import DIVISION, row, unique
from tests.support import Sandboxes, add_tenant, notification, signed_headers
from webhook_receiver import create_app
from workers import tasks
from workers.context import using

pytestmark = pytest.mark.integration


class _Task:
    """What run_step reads of a Celery task: its retry count (a first delivery here)."""

    class request:  # noqa: N801 - Celery's attribute name
        retries = 0


def _record(svc: Services, sandboxes: Sandboxes) -> int:
    tenant = add_tenant(svc, sandboxes)
    basware_id = sandboxes.basware.add_invoice(make_invoice(unique("BD-"), "1001", "Acme Supplies BV", [row()]))
    with svc.db.begin() as conn:
        return records.upsert_pending(conn, tenant.id, "invoice", basware_id)


def test_a_step_that_killed_its_worker_three_times_is_set_aside_not_run_again(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    record_id = _record(pg_services, sandboxes)
    ran: list[int] = []
    for _ in range(tasks.MAX_WORKER_DEATHS):  # each start never ended: the worker died inside the step
        records.start_run(pg_services.db, record_id, "fetch")

    with using(pg_services), pytest.raises(Ignore):
        tasks.run_step(_Task(), record_id, "fetch", lambda svc, rid: ran.append(rid))  # type: ignore[arg-type]

    record = records.get(pg_services.db, record_id)
    assert ran == [] and record.status == "failed"
    assert "ended its worker 3 times" in (record.reason or "")


def test_a_step_that_ends_resets_its_count(pg_services: Services, sandboxes: Sandboxes) -> None:
    record_id = _record(pg_services, sandboxes)
    records.start_run(pg_services.db, record_id, "fetch")  # one death: redelivered once, then fine

    with using(pg_services):
        tasks.run_step(_Task(), record_id, "fetch", steps.fetch)  # type: ignore[arg-type]

    record = records.get(pg_services.db, record_id)
    assert record.step == "fetched" and not record.running_starts


def test_a_response_interrupted_mid_send_goes_again_with_the_same_external_code(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    record_id = _record(pg_services, sandboxes)
    for step in (steps.fetch, steps.map_vendor, steps.validate, steps.write):
        step(pg_services, record_id)
    # The earlier attempt kept its code and sent the response, then died before noting it was reported.
    records.update(pg_services.db, record_id, report_code="success:code-kept-before-sending")

    steps.report(pg_services, record_id)
    steps.report(pg_services, record_id)  # reported now: nothing more is sent

    record = records.get(pg_services.db, record_id)
    responses = sandboxes.basware.invoice(record.basware_id)["transferResponses"]
    assert [r["externalCode"] for r in responses] == ["code-kept-before-sending"]


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word: a blackholed database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/none"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


def test_a_database_that_never_answers_gives_503_not_a_hang(
    tmp_path: Path, secret_key: str, silent_database: str
) -> None:
    svc = build_services(make_settings(tmp_path, silent_database, secret_key))
    with ServerThread(create_app(svc, enqueue=Enqueued())) as server:
        body = notification("doc-blackhole")
        response = post_to(server.url, "acme", body, signed_headers(body))
        ready = requests.get(f"{server.url}/readyz", timeout=60)
    svc.close()

    assert response.status_code == 503
    assert ready.status_code == 503


def test_after_a_lost_write_the_look_up_waits_until_that_post_cannot_be_in_flight(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    record_id = _record(pg_services, sandboxes)
    for step in (steps.fetch, steps.map_vendor, steps.validate):
        step(pg_services, record_id)
    # A worker let its POST go a moment ago and was killed: Exact may still be storing it.
    records.update(pg_services.db, record_id, write_attempts=1, write_sent_at=time.time() - 5)
    calls = sandboxes.exact.api_calls[DIVISION]

    with pytest.raises(Postponed) as waiting:
        steps.write(pg_services, record_id)

    assert sandboxes.exact.api_calls[DIVISION] == calls  # neither a look-up nor a second POST yet
    assert waiting.value.retry_at >= time.time() + 50
    records.update(pg_services.db, record_id, write_sent_at=time.time() - 61)  # surely over now
    steps.write(pg_services, record_id)
    assert records.get(pg_services.db, record_id).status == "written"
