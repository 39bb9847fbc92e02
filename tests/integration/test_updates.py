"""A later version of an invoice: nothing when unchanged, the open entry updated, or blocked with what changed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.store import audit, records
from connector.store.tenants import Tenant
from connector.sync import outcomes
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed
from workers.tasks import start_chain

pytestmark = pytest.mark.integration
DIVISION = 100001


def _invoice(number: str, invoice_id: str, net: str, tax: str, account: str = "4000") -> dict[str, Any]:
    return make_invoice(
        number,
        "1001",
        "Acme Supplies BV",
        [
            {
                "account_code": account,
                "cost_center_code": "CC100",
                "tax_code": "VAT21",
                "tax_percent": 21,
                "net": Decimal(net),
                "tax": Decimal(tax),
            }
        ],
        invoice_id=invoice_id,
    )


def _deliver(receiver: str, tenant: Tenant, invoice_id: str) -> int:
    body = notification(invoice_id)
    response = post_signed(receiver, tenant.name, body)
    assert response.status_code in (200, 202)
    return int(response.json()["record_id"])


def _events(svc: Services, record_id: int) -> list[str]:
    return [row["event"] for row in audit.entries(svc.db, record_id=record_id)]


def _entries(sandboxes: Sandboxes, number: str) -> list[dict[str, Any]]:
    return [e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == number]


@pytest.fixture
def written(pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str) -> dict[str, Any]:
    """An invoice written to Exact and reported to Basware."""
    tenant = add_tenant(pg_services, sandboxes)
    number, invoice_id = f"INV-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    sandboxes.basware.add_invoice(_invoice(number, invoice_id, "100.00", "21.00"))
    record_id = _deliver(receiver, tenant, invoice_id)
    wait_for(lambda: settled(pg_services, record_id), what="the first version to be written")
    return {"tenant": tenant, "number": number, "invoice_id": invoice_id, "record_id": record_id}


def test_an_unchanged_redelivery_does_nothing(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, written: dict[str, Any]
) -> None:
    _deliver(receiver, written["tenant"], written["invoice_id"])  # a new task id for the same version

    wait_for(lambda: "unchanged" in _events(pg_services, written["record_id"]), what="the comparison")
    assert len(_entries(sandboxes, written["number"])) == 1
    assert len(sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]) == 1


def test_a_changed_invoice_updates_the_open_entry_in_place(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, written: dict[str, Any]
) -> None:
    sandboxes.basware.add_invoice(_invoice(written["number"], written["invoice_id"], "110.00", "23.10", "4010"))

    _deliver(receiver, written["tenant"], written["invoice_id"])

    wait_for(lambda: "entry_updated" in _events(pg_services, written["record_id"]), what="the update")
    wait_for(lambda: settled(pg_services, written["record_id"]), what="the update to be reported")
    [entry] = _entries(sandboxes, written["number"])
    [line] = entry["PurchaseEntryLines"]
    assert (line["AmountFC"], line["VATAmountFC"]) == (Decimal("110.00"), Decimal("23.10"))
    update = [a for a in audit.entries(pg_services.db, record_id=written["record_id"]) if a["event"] == "entry_updated"]
    assert "gross sum 121.00 -> 133.10" in update[0]["message"]
    assert update[0]["detail"]["before"]["grossSum"] == Decimal("121.00")
    assert update[0]["detail"]["after"]["grossSum"] == Decimal("133.10")
    responses = sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]
    assert [r["success"] for r in responses] == [True, True]


def test_a_change_after_exact_processed_the_entry_blocks_with_the_changes(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, written: dict[str, Any]
) -> None:
    record = records.get(pg_services.db, written["record_id"])
    sandboxes.exact.set_entry_status(DIVISION, str(record.exact_id), 50)  # processed: no longer changeable
    sandboxes.basware.add_invoice(_invoice(written["number"], written["invoice_id"], "100.00", "21.00", "4020"))

    _deliver(receiver, written["tenant"], written["invoice_id"])

    wait_for(lambda: records.get(pg_services.db, written["record_id"]).status == "blocked", what="the block")
    wait_for(lambda: settled(pg_services, written["record_id"]), what="Basware to be told")
    blocked = records.get(pg_services.db, written["record_id"])
    assert blocked.reason is not None
    assert blocked.reason.startswith("changed in Basware after it was posted in Exact")
    assert "line 1 account code 4000 -> 4020" in blocked.reason and "correct it in Exact by hand" in blocked.reason
    [entry] = _entries(sandboxes, written["number"])  # still one document, with the version first written
    assert entry["PurchaseEntryLines"][0]["GLAccount"].endswith(record.plan["lines"][0]["GLAccount"][-12:])
    assert [r["success"] for r in sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]] == [
        True,
        False,
    ]
    # Replayed while Exact still refuses the change, it is blocked again: the change is not silently dropped.
    assert outcomes.resume(pg_services, written["record_id"])
    start_chain(written["record_id"])
    wait_for(lambda: _events(pg_services, written["record_id"]).count("blocked") == 2, what="the second block")
    assert records.get(pg_services.db, written["record_id"]).status == "blocked"
    # The bookkeeper corrects the entry in Exact and says so: the record is written and Basware is told.
    assert outcomes.accept_correction(pg_services, written["record_id"], "credit note 2026-118 booked")
    start_chain(written["record_id"])
    wait_for(lambda: settled(pg_services, written["record_id"]), what="the resolution to be reported")
    assert records.get(pg_services.db, written["record_id"]).status == "written"
    responses = sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]
    assert [r["success"] for r in responses][-1] is True
    assert "corrected_by_hand" in _events(pg_services, written["record_id"])


def test_a_blocked_invoice_corrected_in_basware_is_processed_again(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number, invoice_id = f"INV-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    sandboxes.basware.add_invoice(_invoice(number, invoice_id, "50.00", "10.50", "4999"))
    record_id = _deliver(receiver, tenant, invoice_id)
    wait_for(lambda: settled(pg_services, record_id), what="the block")
    assert records.get(pg_services.db, record_id).status == "blocked"

    sandboxes.basware.add_invoice(_invoice(number, invoice_id, "50.00", "10.50", "4000"))
    _deliver(receiver, tenant, invoice_id)

    wait_for(lambda: records.get(pg_services.db, record_id).status == "written", what="the corrected version")
    assert "restarted" in _events(pg_services, record_id)
    assert len(_entries(sandboxes, number)) == 1


def test_polling_finds_a_retransferred_invoice_and_updates_its_entry(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    from connector.sandbox.basware import BaswareSandbox
    from connector.sandbox.server import ServerThread
    from connector.sync import polling

    with ServerThread((own := BaswareSandbox()).app) as server:  # only this test's invoices are waiting
        mine = Sandboxes(sandboxes.exact, own, sandboxes.exact_url, server.url)
        tenant = add_tenant(pg_services, mine)
        number, invoice_id = f"INV-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        own.add_invoice(_invoice(number, invoice_id, "70.00", "14.70"))
        [record_id] = polling.poll_tenant(pg_services, tenant, start_chain).new
        wait_for(lambda: settled(pg_services, record_id), what="the first version")

        own.add_invoice(_invoice(number, invoice_id, "75.00", "15.75"))  # retransferred with a new amount
        assert polling.poll_tenant(pg_services, tenant, start_chain).new == [record_id]

        wait_for(lambda: "entry_updated" in _events(pg_services, record_id), what="the update")
        wait_for(lambda: settled(pg_services, record_id), what="Basware to be told")
        assert polling.poll_tenant(pg_services, tenant, start_chain).new == []  # transferred: nothing waits
    [entry] = _entries(sandboxes, number)
    assert entry["PurchaseEntryLines"][0]["AmountFC"] == Decimal("75.00")
    assert "offered_again" in _events(pg_services, record_id)


def test_two_deliveries_of_one_changed_version_at_once_update_once_and_tell_basware_once(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, written: dict[str, Any]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sandboxes.basware.add_invoice(_invoice(written["number"], written["invoice_id"], "120.00", "25.20"))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: _deliver(receiver, written["tenant"], written["invoice_id"]), range(2)))

    wait_for(lambda: _events(pg_services, written["record_id"]).count("unchanged") == 1, what="both deliveries")
    wait_for(lambda: settled(pg_services, written["record_id"]), what="Basware to be told")
    assert _events(pg_services, written["record_id"]).count("entry_updated") == 1
    responses = sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]
    assert [r["success"] for r in responses] == [True, True]  # the first version, then the update once


def _rows(*amounts: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [
        {"account_code": account, "cost_center_code": "CC100", "tax_code": "VAT21", "tax_percent": 21,
         "net": Decimal(net), "tax": Decimal(tax)}
        for account, net, tax in amounts
    ]  # fmt: skip


def _two_line_written(svc: Services, sandboxes: Sandboxes, receiver: str) -> dict[str, Any]:
    tenant = add_tenant(svc, sandboxes)
    number, invoice_id = f"INV-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    rows = _rows(("4000", "100.00", "21.00"), ("4010", "50.00", "10.50"))
    sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", rows, invoice_id=invoice_id))
    record_id = _deliver(receiver, tenant, invoice_id)
    wait_for(lambda: settled(svc, record_id), what="the first version to be written")
    assert records.get(svc.db, record_id).status == "written"
    return {"tenant": tenant, "number": number, "invoice_id": invoice_id, "record_id": record_id}


def _booked(sandboxes: Sandboxes, number: str) -> list[tuple[Decimal, Decimal]]:
    [entry] = _entries(sandboxes, number)
    return sorted((line["AmountFC"], line["VATAmountFC"]) for line in entry["PurchaseEntryLines"])


def test_lines_added_changed_and_removed_in_basware_are_applied_line_by_line(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    written = _two_line_written(pg_services, sandboxes, receiver)
    rows = _rows(("4000", "120.00", "25.20"), ("4020", "40.00", "8.40"))
    rows[1]["row_index"] = 3  # row 1 changed, row 2 removed, row 3 added
    new = make_invoice(written["number"], "1001", "Acme Supplies BV", rows, invoice_id=written["invoice_id"],
                       due_date="2027-01-15")  # fmt: skip
    sandboxes.basware.add_invoice(new)

    _deliver(receiver, written["tenant"], written["invoice_id"])

    wait_for(lambda: "entry_updated" in _events(pg_services, written["record_id"]), what="the update")
    wait_for(lambda: settled(pg_services, written["record_id"]), what="the update to be reported")
    assert _booked(sandboxes, written["number"]) == [
        (Decimal("40.00"), Decimal("8.40")),
        (Decimal("120.00"), Decimal("25.20")),
    ]
    [entry] = _entries(sandboxes, written["number"])  # one entry, to the cent
    assert entry["AmountFC"] == Decimal("193.60") and entry["DueDate"].date().isoformat() == "2027-01-15"
    events = _events(pg_services, written["record_id"])
    assert {"line_post", "line_put", "line_delete", "entry_updated"} <= set(events)
    update = [a for a in audit.entries(pg_services.db, record_id=written["record_id"]) if a["event"] == "entry_updated"]
    assert update[0]["detail"]["before"]["grossSum"] == Decimal("181.50")
    assert update[0]["detail"]["after"]["grossSum"] == Decimal("193.60")
    assert update[0]["detail"]["operations"] == [
        "header changed",
        "line 3 added",
        "line 1 changed: AmountFC 100.00 -> 120.00, VATAmountFC 21.00 -> 25.20",
        "line 2 removed",
    ]
    responses = sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]
    assert [r["success"] for r in responses] == [True, True]


def test_an_update_that_fails_half_way_is_retried_to_completion_without_doubling_a_line(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    written = _two_line_written(pg_services, sandboxes, receiver)
    rows = _rows(("4000", "100.00", "21.00"), ("4010", "55.00", "11.55"), ("4020", "10.00", "2.10"))
    sandboxes.basware.add_invoice(
        make_invoice(written["number"], "1001", "Acme Supplies BV", rows, invoice_id=written["invoice_id"])
    )
    sandboxes.exact.fail_requests("PUT", "PurchaseEntryLines", count=1)  # the line added lands, the change fails

    _deliver(receiver, written["tenant"], written["invoice_id"])

    wait_for(lambda: "entry_updated" in _events(pg_services, written["record_id"]), what="the retried update")
    wait_for(lambda: settled(pg_services, written["record_id"]), what="the update to be reported")
    assert _booked(sandboxes, written["number"]) == [
        (Decimal("10.00"), Decimal("2.10")),
        (Decimal("55.00"), Decimal("11.55")),
        (Decimal("100.00"), Decimal("21.00")),
    ]
    events = _events(pg_services, written["record_id"])
    assert events.count("line_post") == 1 and events.count("entry_updated") == 1


def test_an_unchanged_invoice_offered_again_is_acknowledged_and_answered_with_its_entry(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, written: dict[str, Any]
) -> None:
    sandboxes.basware.add_invoice(_invoice(written["number"], written["invoice_id"], "100.00", "21.00"))
    assert sandboxes.basware.invoice(written["invoice_id"])["processingStatus"] == "WaitingForTransfer"
    calls = sandboxes.exact.api_calls[DIVISION]

    _deliver(receiver, written["tenant"], written["invoice_id"])

    wait_for(
        lambda: len(sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]) == 2,
        what="the invoice to be answered again",
    )
    responses = sandboxes.basware.invoice(written["invoice_id"])["transferResponses"]
    record = records.get(pg_services.db, written["record_id"])
    assert [r["success"] for r in responses] == [True, True]
    assert responses[-1]["voucherNumber1"] == record.exact_number
    assert responses[0]["externalCode"] != responses[-1]["externalCode"]
    assert sandboxes.exact.api_calls[DIVISION] == calls  # no Exact call at all
    assert len(_entries(sandboxes, written["number"])) == 1
