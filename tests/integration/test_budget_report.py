"""Operators see Exact's budget per division: calls left this minute and today, the backlog, when it is through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.store import records, tenants
from connector.store.tenants import Tenant
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector.cli import main
from tests.support import Sandboxes, add_tenant, early_in_a_minute

pytestmark = pytest.mark.integration
DIVISION = 100001


@pytest.fixture
def cli_env(tmp_path: Path, secret_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """The CLI on the embedded defaults in a fresh data folder; yields the CLI's own Services."""
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.delenv("CONNECTOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    svc = build_services()
    yield svc
    svc.close()


def busy_tenant(svc: Services, sandboxes: Sandboxes, *, pending: int, calls: int) -> Tenant:
    """A tenant writing to DIVISION with `pending` records waiting and `calls` made this minute."""
    tenant = add_tenant(svc, sandboxes, authorize=False)
    tenants.update_tenant(svc.db, tenant.id, exact_division=DIVISION)
    with svc.db.begin() as conn:
        for n in range(pending):
            records.upsert_pending(conn, tenant.id, "invoice", f"doc-{n}")
    tenant = svc.tenant(tenant.id)
    early_in_a_minute()
    for _ in range(calls):
        svc.governor(tenant).reserve(DIVISION)
    return tenant


def test_status_shows_each_divisions_budget_and_backlog(
    cli_env: Services, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = busy_tenant(cli_env, sandboxes, pending=3, calls=2)

    assert main(["status"], services=cli_env) == 0

    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(str(DIVISION)) and tenant.name in line)
    assert "58 of 60" in line and "4998 of 5000" in line
    assert line.split()[-4] == "3"  # the backlog, before "through by" (a date and time in UTC)
    assert line.endswith("UTC")
