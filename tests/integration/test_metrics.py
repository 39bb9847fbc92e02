"""Prometheus metrics from the receiver and the worker, scraped over HTTP and read with Prometheus's own parser:
the families an operator alerts on move when invoices go through the real worker on PostgreSQL."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from connector import admin_users
from connector.sandbox.basware import make_invoice
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, inbox
from connector.sync.services import Services
from tests.conftest import make_settings
from tests.integration.conftest import WORKER_METRICS, wait_for
from tests.integration.mapping_helpers import deliver, row, settle, unique
from tests.support import Sandboxes, add_tenant, free_port, worker_environment
from webhook_receiver import create_app

pytestmark = pytest.mark.integration

SCRAPER = ("prometheus", "scrapes every fifteen seconds")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def svc(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    settings = make_settings(tmp_path_factory.mktemp("metrics"), pg_url, secret_key)
    services = Services(dataclasses.replace(settings, cookie_secure=False))
    services.db.upgrade()
    admin_users.add_user(services.db, *SCRAPER)
    yield services
    admin_auth.remove_user(services.db, SCRAPER[0])
    services.close()


@pytest.fixture(scope="module")
def receiver_url(svc: Services, celery_app: Any, worker: Path) -> Iterator[str]:
    from workers.tasks import start_chain

    with ServerThread(create_app(svc, enqueue=start_chain)) as server:
        yield server.url


def scrape(url: str, auth: tuple[str, str] | None = None) -> Samples:
    """Every sample of a scrape, parsed as Prometheus parses it."""
    response = requests.get(url, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def has(samples: Samples, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= have for (n, have) in samples)


def test_metrics_need_a_sign_in(receiver_url: str) -> None:
    anonymous = requests.get(f"{receiver_url}/metrics", timeout=10)
    wrong = requests.get(f"{receiver_url}/metrics", auth=(SCRAPER[0], "not it at all"), timeout=10)

    assert anonymous.status_code == wrong.status_code == 401
    assert "ml_connector" not in anonymous.text + wrong.text


def test_the_families_move_when_invoices_are_processed(
    receiver_url: str, svc: Services, pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    before = scrape(f"{receiver_url}/metrics", SCRAPER)
    worker_before = scrape(WORKER_METRICS["url"])

    good = deliver(
        pg_services, sandboxes, receiver_url, tenant.name, make_invoice(unique("INV-"), "1001", "Acme", [row()])
    )
    bad_invoice = make_invoice(unique("INV-"), "1001", "Acme", [row(account="4999")])
    bad = deliver(pg_services, sandboxes, receiver_url, tenant.name, bad_invoice)
    assert (settle(pg_services, good).status, settle(pg_services, bad).status) == ("written", "blocked")
    after = scrape(f"{receiver_url}/metrics", SCRAPER)
    worker_after = scrape(WORKER_METRICS["url"])

    accepted = "ml_connector_notifications_total"
    assert value(after, accepted, outcome="accepted") - value(before, accepted, outcome="accepted") == 2
    records_of = {"tenant": tenant.name, "kind": "invoice"}
    assert value(after, "ml_connector_records", status="written", **records_of) == 1
    assert value(after, "ml_connector_records", status="blocked", **records_of) == 1
    assert value(after, "ml_connector_records", status="pending", **records_of) == 0
    assert 0 < value(after, "ml_connector_exact_grant_days_left", tenant=tenant.name) <= 30
    assert value(after, "ml_connector_exact_grant_connected", tenant=tenant.name) == 1
    assert value(after, "ml_connector_exact_budget_remaining", tenant=tenant.name, window="minute") > 0

    def moved(name: str, **labels: str) -> float:
        return value(worker_after, name, **labels) - value(worker_before, name, **labels)

    assert moved("ml_connector_step_runs_total", step="write_to_exact", outcome="success") >= 1
    assert moved("ml_connector_step_duration_seconds_count", step="validate_dimensions") >= 2
    assert moved("ml_connector_api_calls_total", system="exact", method="POST", status="201") >= 1
    assert moved("ml_connector_api_calls_total", system="basware", method="GET", status="200") >= 2
    endpoints = {dict(labels)["endpoint"] for (name, labels) in worker_after if name == "ml_connector_api_calls_total"}
    assert any("purchaseentry/PurchaseEntries" in e for e in endpoints)
    assert not [e for e in endpoints if any(ch.isdigit() for ch in e.replace("/v1/", "/"))]  # no ids in labels


def test_an_event_no_worker_has_published_yet_shows_as_waiting_with_its_pending_record(
    private_pg_services: Services, sandboxes: Sandboxes
) -> None:
    # A database of its own: the session worker's dispatcher would publish the event before the scrape.
    svc = private_pg_services
    tenant = add_tenant(svc, sandboxes, authorize=False)
    admin_users.add_user(svc.db, *SCRAPER)
    inbox.record_notification(
        svc.db, tenant_id=tenant.id, task_id=str(uuid.uuid4()), task_type="AccountingDocuments",
        document_id=f"doc-{uuid.uuid4().hex[:8]}", body="{}",
    )  # fmt: skip
    with ServerThread(create_app(svc, enqueue=lambda _record_id: None)) as server:
        waiting = scrape(f"{server.url}/metrics", SCRAPER)
        assert inbox.dispatch(svc.db, lambda _record_id: None) == 1  # a worker's dispatcher publishes it
        published = scrape(f"{server.url}/metrics", SCRAPER)

    assert value(waiting, "ml_connector_inbox_waiting_events", tenant=tenant.name) == 1
    assert value(waiting, "ml_connector_records", tenant=tenant.name, kind="invoice", status="pending") == 1
    assert has(waiting, "ml_connector_oldest_pending_record_age_seconds", tenant=tenant.name)
    assert value(published, "ml_connector_inbox_waiting_events", tenant=tenant.name) == 0


def test_gunicorn_workers_add_up_their_counts(
    svc: Services, pg_url: str, redis_url: str, secret_key: str, tmp_path: Path
) -> None:
    port = free_port()
    env = worker_environment(pg_url, redis_url, secret_key, tmp_path)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    command = [
        sys.executable, "-m", "gunicorn", "--config", "python:webhook_receiver.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "webhook_receiver:create_app()",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), what="gunicorn")
        for _ in range(12):  # a new connection each time, so both workers take some
            assert requests.post(f"{url}/webhooks/basware/nobody-{uuid.uuid4().hex[:6]}", timeout=10).status_code == 401
        counted = [
            value(scrape(f"{url}/metrics", SCRAPER), "ml_connector_notifications_total", outcome="unknown_tenant")
            for _ in range(4)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert counted == [12.0] * 4  # whichever worker answers the scrape, it reports both workers' counts


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
