"""No secret and no token in any log, audit row, stored inbox body, record, notification or CLI output.

A full life is run: consent, a signed notification through the receiver to a real worker that refreshes the
token and writes to Exact, the grant revoked and found dead, a record waiting, a new consent, the record
written; then every place an operator or an attacker could read is searched for every secret and token value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connector.store import tenants
from connector.store.basware_tokens import DbBaswareTokenStore
from connector.store.db import audit_log, exact_tokens, inbox, records
from connector.sync.services import Services
from ml_connector import cli
from tests.integration.conftest import settled, wait_for
from tests.integration.test_grant_lifecycle import kill_grant, post_invoice, reconsent
from tests.support import BASWARE_SECRET, EXACT_SECRET, WEBHOOK_SECRET, Sandboxes, add_tenant
from tests.unit.test_reminders import WebhookInbox, running_webhook

pytestmark = pytest.mark.integration


class Collector(logging.Handler):
    """Keeps every record formatted as a handler would write it, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log_line() -> Iterator[Collector]:
    """All log records of this process at DEBUG (works with `-p no:logging`, where caplog does not)."""
    collector, root = Collector(), logging.getLogger()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    yield collector
    root.removeHandler(collector)
    root.setLevel(level)


@pytest.fixture
def cli_env(pg_url: str, secret_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", pg_url)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))


@pytest.fixture
def alerts() -> Iterator[tuple[WebhookInbox, str]]:
    with running_webhook() as running:
        yield running


def token_values(svc: Services, tenant_id: int) -> set[str]:
    """The Exact and Basware tokens stored for the tenant right now, decrypted."""
    values: set[str] = set()
    exact = svc.token_store(svc.tenant(tenant_id)).load()
    if exact is not None:
        values |= {exact.access_token, exact.refresh_token}
    basware = DbBaswareTokenStore(svc.db, svc.box, tenant_id).load()
    if basware is not None:
        values.add(basware[0])
    return values


def age_tokens(svc: Services, tenant_id: int, exact_sandbox: Any) -> None:
    """Ten minutes pass: the next Exact call refreshes the grant."""
    exact_sandbox.advance(600)
    with svc.db.begin() as conn:
        conn.execute(
            exact_tokens.update()
            .where(exact_tokens.c.tenant_id == tenant_id)
            .values(issued_at=time.time() - 600, expires_at=time.time() - 1)
        )


def stored_text(svc: Services, tenant_id: int) -> str:
    """Audit rows, inbox bodies and records of the tenant (and audit rows of no tenant), as one text."""
    with svc.db.begin() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(sa.or_(audit_log.c.tenant_id == tenant_id, audit_log.c.tenant_id.is_(None)))
        ).all()
        rows += conn.execute(sa.select(inbox).where(inbox.c.tenant_id == tenant_id)).all()
        rows += conn.execute(sa.select(records).where(records.c.tenant_id == tenant_id)).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def test_a_full_life_shows_no_secret_or_token_anywhere(
    pg_services: Services,
    sandboxes: Sandboxes,
    own_exact: Sandboxes,
    worker: Path,
    receiver: str,
    secret_key: str,
    alerts: tuple[WebhookInbox, str],
    cli_env: None,
    every_log_line: Collector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker_log_start = worker.stat().st_size
    tenant = add_tenant(pg_services, own_exact)
    tenants.set_notify_webhook_url(pg_services.db, pg_services.box, tenant.id, alerts[1])
    seen = token_values(pg_services, tenant.id)

    age_tokens(pg_services, tenant.id, own_exact.exact)
    first = post_invoice(receiver, own_exact, pg_services, tenant)  # the worker refreshes, then writes
    wait_for(lambda: settled(pg_services, first), what="the first invoice to be written")
    seen |= token_values(pg_services, tenant.id)

    kill_grant("revoked", pg_services, tenant, own_exact.exact)
    second = post_invoice(receiver, own_exact, pg_services, tenant)
    wait_for(lambda: pg_services.tenant(tenant.id).grant_status == "dead", what="the grant to be found dead")
    reconsent(pg_services, pg_services.tenant(tenant.id))
    wait_for(lambda: settled(pg_services, second), what="the waiting invoice to be written")
    seen |= token_values(pg_services, tenant.id)

    capsys.readouterr()
    for argv in (["tenant", "show", tenant.name], ["status"], ["ping", tenant.name]):
        cli.main(argv)
    cli_output = capsys.readouterr()

    secrets = {WEBHOOK_SECRET, EXACT_SECRET, BASWARE_SECRET, secret_key, *seen}
    assert len(seen) >= 7  # two Exact pairs before the revocation, one after, and the Basware token
    places = {
        "this process's logs": "\n".join(every_log_line.lines),
        "the worker's log": worker.read_bytes()[worker_log_start:].decode("utf-8", "replace"),
        "the database": stored_text(pg_services, tenant.id),
        "the notifications": "\n".join(alerts[0].texts()),
        "the CLI": cli_output.out + cli_output.err,
    }
    assert all(places.values())  # each place was really looked at
    leaks = [(place, secret[:6]) for place, text in places.items() for secret in secrets if secret in text]
    assert leaks == []


@pytest.fixture
def own_exact(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    from connector.sandbox.exact import ExactSandbox
    from connector.sandbox.server import ServerThread

    exact = ExactSandbox(minute_limit=10**6, day_limit=10**8)
    exact.add_division(100001)
    with ServerThread(exact.app) as server:
        yield Sandboxes(exact, sandboxes.basware, server.url, sandboxes.basware_url)
