"""Payment status back to Basware through the real worker: PostgreSQL, Redis, both sandboxes over HTTP.

An invoice is written by the worker; payments are recorded in the Exact sandbox; beat's `connector.sync_payments`
runs in the worker and Basware learns partly paid, paid, and a match undone, each once.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.mapping.payments import Term
from connector.sandbox.basware import BaswareSandbox, make_invoice
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import audit, records, state, tenants
from connector.store import payments as payment_store
from connector.store.db import records as records_table
from connector.store.tenants import Tenant
from connector.sync import payments
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector import cli
from tests.conftest import make_settings
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, signed_headers
from webhook_receiver import create_app

pytestmark = pytest.mark.integration
DIVISION = 100001
ROW = {
    "account_code": "4010",
    "tax_code": "VAT21",
    "tax_percent": 21,
    "net": Decimal("100.00"),
    "tax": Decimal("21.00"),
}


def _write_invoice(svc: Services, sandboxes: Sandboxes, receiver: str, tenant: Tenant) -> tuple[int, str, str]:
    """(record id, Basware invoice id, Exact entry id) of an invoice the worker wrote and reported."""
    invoice_id = sandboxes.basware.add_invoice(make_invoice(f"PAY-{uuid.uuid4().hex[:8]}", "1001", "Acme", [ROW]))
    body = notification(invoice_id)
    url = f"{receiver}/webhooks/basware/{tenant.name}"
    assert requests.post(url, data=body, headers=signed_headers(body), timeout=30).status_code == 202
    record_id = records.list_records(svc.db, tenant_id=tenant.id)[-1][0].id
    wait_for(lambda: settled(svc, record_id), what="the invoice to be written and reported")
    exact_id = records.get(svc.db, record_id).exact_id
    assert exact_id is not None
    return record_id, invoice_id, exact_id


def _beat_sync(svc: Services, celery_app: Any, tenant: Tenant) -> None:
    """Make the tenant due, let the worker run beat's task, and wait until its sync of the tenant has ended."""
    state.put(svc.db, tenant.id, payments.LAST_RUN, "0")
    before = float(state.get(svc.db, tenant.id, payments.LAST_DONE) or 0)
    celery_app.send_task("connector.sync_payments")
    wait_for(lambda: float(state.get(svc.db, tenant.id, payments.LAST_DONE) or 0) > before, what="the payment sync")


def _only_this_tenant_due(svc: Services, tenant: Tenant) -> None:
    """Other tests' tenants share the session database: keep them out of beat's runs here."""
    for other in tenants.list_tenants(svc.db):
        if other.id != tenant.id:
            tenants.update_tenant(svc.db, other.id, payment_sync_interval=0)


def _payment_json(svc: Services, tenant: Tenant, record_id: int, capsys: pytest.CaptureFixture[str]) -> Any:

    capsys.readouterr()
    assert cli.main(["records", "list", "--tenant", tenant.name, "--json"], services=svc) == 0
    listed = json.loads(capsys.readouterr().out)
    return next(row["payment"] for row in listed if row["id"] == record_id)


def test_partial_full_and_undone_payments_reach_basware_once_each(
    pg_services: Services,
    sandboxes: Sandboxes,
    worker: Any,
    receiver: str,
    celery_app: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    _only_this_tenant_due(pg_services, tenant)
    record_id, invoice_id, entry_id = _write_invoice(pg_services, sandboxes, receiver, tenant)
    _beat_sync(pg_services, celery_app, tenant)
    assert sandboxes.basware.payment_responses(invoice_id) == []  # unpaid: nothing to say

    sandboxes.exact.record_payment(DIVISION, entry_id, Decimal("21.00"), on=datetime(2026, 12, 1, tzinfo=UTC))
    _beat_sync(pg_services, celery_app, tenant)
    [partial] = sandboxes.basware.payment_responses(invoice_id)
    assert (partial["paidTotal"], partial["paymentDate"]) == (Decimal("21.00"), "2026-12-01T00:00:00Z")
    assert _payment_json(pg_services, tenant, record_id, capsys) == {
        "state": "partly_paid", "paid_total": "21.00", "payment_date": "2026-12-01", "method": "B", "number": None,
    }  # fmt: skip

    sandboxes.exact.record_payment(DIVISION, entry_id, on=datetime(2026, 12, 3, tzinfo=UTC), reference="BANK-77")
    _beat_sync(pg_services, celery_app, tenant)
    full = sandboxes.basware.payment_responses(invoice_id)[-1]
    assert (full["paidTotal"], full["paymentNumber"]) == (Decimal("121.00"), "BANK-77")
    assert sandboxes.basware.invoice(invoice_id)["processingStatus"] == "Paid"
    trail = [row["message"] for row in audit.entries(pg_services.db, record_id=record_id) if row["step"] == "payment"]
    assert trail[-1] == "paid EUR 121.00 on 2026-12-03; Basware told"

    _beat_sync(pg_services, celery_app, tenant)  # nothing changed: nothing sent
    assert len(sandboxes.basware.payment_responses(invoice_id)) == 2

    sandboxes.exact.undo_payment(DIVISION, entry_id)
    _beat_sync(pg_services, celery_app, tenant)
    responses = sandboxes.basware.payment_responses(invoice_id)
    assert [r["paidTotal"] for r in responses] == [Decimal("21.00"), Decimal("121.00"), Decimal("21.00")]
    assert len({r["externalCode"] for r in responses}) == 3
    assert sandboxes.basware.invoice(invoice_id)["processingStatus"] == "Transferred"
    assert _payment_json(pg_services, tenant, record_id, capsys)["state"] == "partly_paid"


@pytest.fixture
def own_sandboxes() -> Iterator[Sandboxes]:
    """Sandboxes of this test alone: a division move must not disturb the others."""
    exact, basware = ExactSandbox(), BaswareSandbox()
    exact.add_division(DIVISION)
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        yield Sandboxes(exact, basware, exact_server.url, basware_server.url)


def _entry_for(svc: Services, sandboxes: Sandboxes, tenant: Tenant) -> tuple[int, str, str]:
    """A record written by the steps in-process (no worker needed for the sync's own rules)."""
    invoice_id = sandboxes.basware.add_invoice(make_invoice(f"PAY-{uuid.uuid4().hex[:8]}", "1001", "Acme", [ROW]))
    entry = svc.exact(tenant).create_purchase_entry(
        {
            "Journal": "60",
            "Supplier": str(sandboxes.exact.accounts(DIVISION)[0]["ID"]),
            "YourRef": invoice_id[:20],
            "PurchaseEntryLines": [{"GLAccount": _gl(sandboxes), "AmountFC": Decimal("100.00"), "VATCode": "1"}],
        }
    )
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", invoice_id)
        conn.execute(
            records_table.update()
            .where(records_table.c.id == record_id)
            .values(status="written", exact_id=entry["EntryID"], gross=str(entry["AmountFC"]), currency="EUR")
        )
    return record_id, invoice_id, str(entry["EntryID"])


def _gl(sandboxes: Sandboxes) -> str:
    return str(
        next(row["ID"] for row in sandboxes.exact.rows(DIVISION, "financial/GLAccounts") if row["Code"] == "4000")
    )


def test_a_crash_after_basware_took_the_response_sends_it_again_with_the_same_code(
    pg_services: Services, own_sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    record_id, invoice_id, entry_id = _entry_for(pg_services, own_sandboxes, tenant)
    own_sandboxes.exact.record_payment(DIVISION, entry_id)
    original = payments.payments.confirm_sent
    payments.payments.confirm_sent = _crash  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            payments.sync_tenant(pg_services, tenant)
    finally:
        payments.payments.confirm_sent = original  # type: ignore[assignment]
    assert len(own_sandboxes.basware.payment_responses(invoice_id)) == 1

    again = payments.sync_tenant(pg_services, tenant)

    assert again.reported == 1  # confirmed, and Basware refused the same code instead of keeping a second one
    assert len(own_sandboxes.basware.payment_responses(invoice_id)) == 1
    assert payments.sync_tenant(pg_services, tenant).reported == 0
    assert own_sandboxes.basware.invoice(invoice_id)["processingStatus"] == "Paid" and record_id


def _crash(*_args: Any) -> None:
    raise RuntimeError("the worker died here")


def test_a_division_move_reads_everything_again_and_deletions_drop_terms(
    pg_services: Services, own_sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    record_id, invoice_id, entry_id = _entry_for(pg_services, own_sandboxes, tenant)
    payments.sync_tenant(pg_services, tenant)
    own_sandboxes.exact.move_division(DIVISION)  # row versions restart below our cursor
    own_sandboxes.exact.record_payment(DIVISION, entry_id, Decimal("50.00"))

    result = payments.sync_tenant(pg_services, tenant)

    assert result.restarted and result.reported == 1
    assert own_sandboxes.basware.payment_responses(invoice_id)[-1]["paidTotal"] == Decimal("50.00")
    own_sandboxes.exact.undo_payment(DIVISION, entry_id)
    token = pg_services.token_manager(tenant).access_token()
    url = f"{own_sandboxes.exact_url}/api/v1/{DIVISION}/purchaseentry/PurchaseEntries(guid'{entry_id}')"
    assert requests.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 204
    after = payments.sync_tenant(pg_services, tenant)
    assert (after.deleted, after.reported) == (2, 1)  # the terms are gone: unpaid again, and Basware is told
    assert own_sandboxes.basware.payment_responses(invoice_id)[-1]["paidTotal"] == Decimal("0")
    assert record_id


def test_the_command_syncs_on_demand_and_the_interval_is_a_tenant_setting(
    pg_services: Services, own_sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    _record_id, invoice_id, entry_id = _entry_for(pg_services, own_sandboxes, tenant)
    own_sandboxes.exact.record_payment(DIVISION, entry_id)
    assert cli.main(["payments", "sync", tenant.name], services=pg_services) == 0
    assert "1 payment response(s) sent to Basware" in capsys.readouterr().out
    assert cli.main(["payments", "interval", tenant.name, "0"], services=pg_services) == 0
    never = tenants.get_tenant(pg_services.db, tenant.id)
    assert payments.interval(never) == 0 and not payments.is_due(never, None, 2e9)
    assert len(own_sandboxes.basware.payment_responses(invoice_id)) == 1


def test_a_response_basware_refuses_is_audited_and_does_not_hold_up_the_others(
    pg_services: Services, own_sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    gone_id, gone_invoice, gone_entry = _entry_for(pg_services, own_sandboxes, tenant)
    _kept_id, kept_invoice, kept_entry = _entry_for(pg_services, own_sandboxes, tenant)
    with pg_services.db.begin() as conn:  # Basware no longer knows the first invoice: its post answers 404
        conn.execute(records_table.update().where(records_table.c.id == gone_id).values(basware_id="deleted-doc"))
    own_sandboxes.exact.record_payment(DIVISION, gone_entry)
    own_sandboxes.exact.record_payment(DIVISION, kept_entry)

    first = payments.sync_tenant(pg_services, tenant)

    assert first.reported == 1 and len(own_sandboxes.basware.payment_responses(kept_invoice)) == 1
    events = [row["event"] for row in audit.entries(pg_services.db, record_id=gone_id) if row["step"] == "payment"]
    assert events == ["payment_refused"]
    assert payments.sync_tenant(pg_services, tenant).reported == 0  # the same state is not tried again
    assert own_sandboxes.basware.payment_responses(gone_invoice) == []


def test_the_dashboard_record_page_shows_the_payment_state(
    pg_url: str, secret_key: str, pg_services: Services, sandboxes: Sandboxes, tmp_path_factory: pytest.TempPathFactory
) -> None:

    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    with pg_services.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", f"doc-{uuid.uuid4().hex[:8]}")
    records.update(
        pg_services.db, record_id, status="written", exact_id=str(uuid.uuid4()), gross="121.00", currency="EUR"
    )
    paid = Term("term-1", 50, Decimal("121.00"), datetime(2026, 12, 3).date())
    payment_store.save(pg_services.db, tenant.id, DIVISION, [(record_id, paid)], [], payment_store.Cursor(5, 0))
    settings = make_settings(tmp_path_factory.mktemp("payments-dashboard"), pg_url, secret_key)
    admin = ("books", "correct horse battery staple")
    svc = build_services(dataclasses.replace(settings, admin_user=admin[0], admin_password=admin[1]))
    try:
        with ServerThread(create_app(svc, enqueue=lambda _id: None)) as server:
            page = requests.get(f"{server.url}/admin/records/{record_id}", auth=admin, timeout=10)
    finally:
        svc.close()
    assert page.status_code == 200
    assert "paid: 121.00 EUR on 2026-12-03" in page.text


def test_the_command_line_records_and_undoes_a_payment_in_a_running_sandbox(
    pg_services: Services, own_sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    _record_id, _invoice_id, entry_id = _entry_for(pg_services, own_sandboxes, tenant)
    url = ["--exact-url", own_sandboxes.exact_url]

    assert cli.main(["payments", "sandbox-pay", entry_id, "--amount", "21.00", "--date", "2026-12-01", *url]) == 0
    assert "matched 21.00" in capsys.readouterr().out
    assert [t["Status"] for t in own_sandboxes.exact.payment_terms(DIVISION)] == [20, 50]
    assert cli.main(["payments", "sandbox-pay", entry_id, "--undo", *url]) == 0
    assert [t["Status"] for t in own_sandboxes.exact.payment_terms(DIVISION)] == [20, 20]
    assert cli.main(["payments", "sandbox-pay", entry_id, "--amount", "999", *url]) == 1


def test_beat_runs_read_the_terms_every_time_and_the_move_check_and_deletions_hourly(
    pg_services: Services, own_sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    _entry_for(pg_services, own_sandboxes, tenant)
    start = 2_000_000_000.0
    payments.sync_tenant(pg_services, tenant, everything=False, now=start)
    calls = own_sandboxes.exact.api_calls[DIVISION]

    payments.sync_tenant(pg_services, tenant, everything=False, now=start + 900)
    quick = own_sandboxes.exact.api_calls[DIVISION] - calls
    payments.sync_tenant(pg_services, tenant, everything=False, now=start + 3600)
    hourly = own_sandboxes.exact.api_calls[DIVISION] - calls - quick

    assert (quick, hourly) == (1, 3)
