"""Bank accounts waiting for a person, on the embedded database: asked once, decided once, added by a migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.store import bank_changes, db, tenants
from connector.store.bank_changes import Request
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings


def _request(svc: Services, iban: str = "NL91ABNA0417164300") -> Request:
    tenant = tenants.add_tenant(
        svc.db, svc.box, name="acme", exact_region="NL", exact_client_id="c", exact_client_secret="s",
        exact_redirect_uri="http://127.0.0.1/cb", basware_region="EU", basware_client_id="b",
        basware_client_secret="s", webhook_secret="w" * 32, purchase_journal="60",
    )  # fmt: skip
    return Request(tenant.id, "V1", 100001, "guid-acme", "1001 Acme Supplies BV", iban, "ABNANL2A")


def test_the_same_iban_for_the_same_supplier_is_asked_once_whatever_the_answer(sqlite_services: Services) -> None:
    asked = _request(sqlite_services)

    first = bank_changes.request(sqlite_services.db, asked)
    assert first is not None and first.status == "pending"
    assert bank_changes.request(sqlite_services.db, asked) is None
    assert bank_changes.decide(sqlite_services.db, first.id, bank_changes.REJECTED, "alice")

    assert bank_changes.request(sqlite_services.db, asked) is None  # a rejection is not asked again
    assert bank_changes.pending(sqlite_services.db) == []


def test_the_first_decision_stands(sqlite_services: Services) -> None:
    change = bank_changes.request(sqlite_services.db, _request(sqlite_services))
    assert change is not None

    assert bank_changes.decide(sqlite_services.db, change.id, bank_changes.APPROVED, "alice")
    assert not bank_changes.decide(sqlite_services.db, change.id, bank_changes.REJECTED, "bob")

    kept = bank_changes.get(sqlite_services.db, change.id)
    assert (kept.status, kept.decided_by) == ("approved", "alice")


def _before_bank_changes() -> list[tuple[int, Any]]:
    return [(v, step) for v, step in db.MIGRATIONS if step.__name__ != "_create_pending_bank_accounts"]


def test_a_database_from_before_the_table_gets_it_by_migration(tmp_path: Path, secret_key: str) -> None:
    svc = build_services(make_settings(tmp_path, f"sqlite:///{tmp_path / 'old.db'}", secret_key))
    try:
        with svc.db.begin() as conn:  # the database as the previous release left it
            db.metadata.create_all(conn, tables=[db.schema_migrations])
            for version, step in _before_bank_changes():
                step(conn)
                conn.execute(db.schema_migrations.insert().values(version=version, applied_at=0.0))

        assert len(svc.db.upgrade()) == 1  # only the new table's migration

        with svc.db.begin() as conn:
            assert sa.inspect(conn).has_table("pending_bank_accounts")
        assert bank_changes.request(svc.db, _request(svc)) is not None
    finally:
        svc.close()
