"""A signed notification in, exactly one Exact purchase entry out: PostgreSQL, Redis, a real worker process."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.sandbox.exact.seed import PURCHASE_JOURNAL, seed_guid
from connector.store import audit, records
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed

pytestmark = pytest.mark.integration
DIVISION = 100001


def _two_line_invoice(number: str) -> dict[str, Any]:
    return make_invoice(
        number,
        "1001",
        "Acme Supplies BV",
        [
            {
                "account_code": "4010",
                "cost_center_code": "CC200",
                "project_code": "CU1",
                "tax_code": "VAT21",
                "tax_percent": 21,
                "net": Decimal("1250.00"),
                "tax": Decimal("262.50"),
            },
            {
                "account_code": "4020",
                "cost_center_code": "CC300",
                "tax_code": "VAT9",
                "tax_percent": 9,
                "net": Decimal("99.95"),
                "tax": Decimal("9.00"),
            },
        ],
        invoice_date="2026-11-20",
        due_date="2026-12-20",
    )


def _entries(sandboxes: Sandboxes, your_ref: str) -> list[dict[str, Any]]:
    return [e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == your_ref]


def _post(receiver: str, tenant: str, body: bytes) -> int:
    response = post_signed(receiver, tenant, body)
    return response.status_code


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def test_signed_notification_becomes_one_exact_entry_equal_to_basware(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    invoice_id = sandboxes.basware.add_invoice(_two_line_invoice(number))

    assert _post(receiver, tenant.name, notification(invoice_id)) == 202

    record_id = records.list_records(pg_services.db, tenant_id=tenant.id)[0][0].id
    wait_for(lambda: settled(pg_services, record_id), what="the invoice to be written and reported")
    [entry] = _entries(sandboxes, number)
    assert entry["Supplier"] == seed_guid(DIVISION, "Account", "1001")
    assert str(entry["Journal"]).strip() == PURCHASE_JOURNAL
    assert _day(entry["EntryDate"]) == date(2026, 11, 20)
    assert _day(entry["DueDate"]) == date(2026, 12, 20)
    lines = sorted(entry["PurchaseEntryLines"], key=lambda line: line["AmountFC"], reverse=True)
    assert [
        (
            ln["GLAccount"],
            ln.get("CostCenter"),
            ln.get("CostUnit"),
            str(ln["VATCode"]).strip(),
            ln["AmountFC"],
            ln["VATAmountFC"],
        )
        for ln in lines
    ] == [
        (
            seed_guid(DIVISION, "GLAccount", "4010"),
            "CC200",
            "CU1",
            "1",
            Decimal("1250.00"),
            Decimal("262.50"),
        ),
        (seed_guid(DIVISION, "GLAccount", "4020"), "CC300", None, "2", Decimal("99.95"), Decimal("9.00")),
    ]
    record = records.get(pg_services.db, record_id)
    assert record.exact_number == str(entry["EntryNumber"])
    basware = sandboxes.basware.invoice(invoice_id)
    assert basware["processingStatus"] == "Transferred"
    assert [(r["success"], r.get("voucherNumber1")) for r in basware["transferResponses"]] == [
        (True, str(entry["EntryNumber"]))
    ]


def test_the_same_notification_three_times_at_once_gives_one_entry(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    invoice_id = sandboxes.basware.add_invoice(_two_line_invoice(number))
    body = notification(invoice_id)

    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(lambda _: _post(receiver, tenant.name, body), range(3)))

    assert statuses == [200, 200, 202]  # one accepted, two answered as duplicates
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: settled(pg_services, record.id), what="the invoice to settle")
    assert len(_entries(sandboxes, number)) == 1
    assert len(sandboxes.basware.invoice(invoice_id)["transferResponses"]) == 1


def test_three_deliveries_with_different_task_ids_still_give_one_entry(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    invoice_id = sandboxes.basware.add_invoice(_two_line_invoice(number))

    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: _post(receiver, tenant.name, notification(invoice_id)), range(3)))

    assert statuses == [202, 202, 202]  # three chains race for one record
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: settled(pg_services, record.id), what="the invoice to settle")
    assert len(_entries(sandboxes, number)) == 1
    assert [r["success"] for r in sandboxes.basware.invoice(invoice_id)["transferResponses"]] == [True]


def test_unknown_gl_account_blocks_before_any_write_and_tells_basware(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    invoice_id = sandboxes.basware.add_invoice(
        make_invoice(
            number,
            "1002",
            "Globex Office Supplies",
            [
                {
                    "account_code": "4000",
                    "cost_center_code": "CC100",
                    "tax_code": "VAT21",
                    "tax_percent": 21,
                    "net": Decimal("10.00"),
                    "tax": Decimal("2.10"),
                },
                {
                    "account_code": "4999",
                    "cost_center_code": "CC100",
                    "tax_code": "VAT21",
                    "tax_percent": 21,
                    "net": Decimal("80.00"),
                    "tax": Decimal("16.80"),
                },
            ],
        )
    )

    assert _post(receiver, tenant.name, notification(invoice_id)) == 202

    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: settled(pg_services, record.id), what="the invoice to be blocked and reported")
    record = records.get(pg_services.db, record.id)
    assert record.status == "blocked"
    assert _entries(sandboxes, number) == []
    [problem] = record.problems or []
    assert (problem["row"], problem["field"], problem["basware_code"]) == (2, "gl_account", "4999")
    assert "does not exist in Exact division 100001" in problem["problem"]
    assert "4099" in problem["suggestions"]
    blocked = [a for a in audit.entries(pg_services.db, record_id=record.id) if a["event"] == "blocked"]
    assert blocked and blocked[0]["detail"]["problems"][0]["basware_code"] == "4999"
    [response] = sandboxes.basware.invoice(invoice_id)["transferResponses"]
    assert response["success"] is False and "4999" in response["responseMessage"]


@pytest.mark.parametrize("status", ["Transferred", "TransferInProgress", "PrebookInProgress"])
def test_a_notification_for_a_document_not_waiting_for_us_is_acted_on_by_no_one(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, status: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    document = _two_line_invoice(number)
    document["processingStatus"] = status  # e.g. another ERP took it, or it was transferred long ago
    invoice_id = sandboxes.basware.add_invoice(document)

    assert _post(receiver, tenant.name, notification(invoice_id)) == 202

    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: records.get(pg_services.db, record.id).status == "blocked", what="the record to be set aside")
    assert f"as {status}, not WaitingForTransfer" in (records.get(pg_services.db, record.id).reason or "")
    seen = sandboxes.basware.invoice(invoice_id)
    assert seen["processingStatus"] == status and seen["transferResponses"] == []  # not taken, not answered
    assert _entries(sandboxes, number) == []
