"""One tenant, several Exact divisions under one grant: PostgreSQL, Redis and the session's real worker."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.sandbox.basware import make_invoice
from connector.sandbox.exact.seed import PURCHASE_JOURNAL, seed_guid
from connector.store import mappings, records
from connector.store.records import Record
from connector.store.tenants import Tenant
from connector.sync import grants
from connector.sync.services import Services
from ml_connector.cli import main
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, signed_headers

pytestmark = pytest.mark.integration
HOME = 100001


def _invoice(number: str, company: str, net: str = "100.00", tax: str = "21.00", **extra: Any) -> dict[str, Any]:
    row = {"account_code": "4010", "cost_center_code": "CC200", "tax_code": "VAT21", "tax_percent": 21,
           "net": Decimal(net), "tax": Decimal(tax)}  # fmt: skip
    return make_invoice(number, "1001", "Acme Supplies BV", [row], company_code=company, **extra)


def _send(svc: Services, sandboxes: Sandboxes, receiver: str, tenant: Tenant, company: str) -> tuple[str, Record]:
    number = f"INV-{uuid.uuid4().hex[:8]}"
    invoice_id = sandboxes.basware.add_invoice(_invoice(number, company))
    body = notification(invoice_id)
    response = requests.post(f"{receiver}/webhooks/basware/{tenant.name}", data=body, headers=signed_headers(body))
    assert response.status_code == 202
    [record] = [r for r, _ in records.list_records(svc.db, tenant_id=tenant.id) if r.basware_id == invoice_id]
    return number, record


def _deliver(receiver: str, tenant: Tenant, invoice_id: str) -> None:
    body = notification(invoice_id)
    response = requests.post(f"{receiver}/webhooks/basware/{tenant.name}", data=body, headers=signed_headers(body))
    assert response.status_code == 202


def _entry(sandboxes: Sandboxes, division: int, number: str) -> dict[str, Any]:
    [entry] = [e for e in sandboxes.exact.purchase_entries(division) if e["YourRef"] == number]
    return entry


def _consent_again(svc: Services, tenant: Tenant) -> None:
    from workers.tasks import start_chain

    url, state = grants.consent_url(svc, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as response:
        code = grants.code_from_callback(response.headers["Location"], state)
    grants.complete_consent(svc, svc.tenant(tenant.id), code, enqueue=start_chain)


def test_two_company_codes_land_in_two_divisions_with_their_journal_and_master_data(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = sandboxes.exact.add_division(3141592)
    sandboxes.exact.add_journal(other, "61", "Purchases Belgium")
    tenant = add_tenant(pg_services, sandboxes)
    mappings.put_many(pg_services.db, tenant.id, [("division", "BE01", str(other)), ("journal", str(other), "61")])

    be_number, be_record = _send(pg_services, sandboxes, receiver, tenant, "BE01")
    nl_number, nl_record = _send(pg_services, sandboxes, receiver, tenant, "NL01")  # unmapped: the tenant's own
    for record in (be_record, nl_record):
        wait_for(lambda r=record: settled(pg_services, r.id), what=f"record {record.id} to settle")

    be, nl = _entry(sandboxes, other, be_number), _entry(sandboxes, HOME, nl_number)
    assert (str(be["Journal"]).strip(), str(nl["Journal"]).strip()) == ("61", PURCHASE_JOURNAL)
    assert be["Supplier"] == seed_guid(other, "Account", "1001")
    assert nl["Supplier"] == seed_guid(HOME, "Account", "1001")
    assert be["PurchaseEntryLines"][0]["GLAccount"] == seed_guid(other, "GLAccount", "4010")
    assert nl["PurchaseEntryLines"][0]["GLAccount"] == seed_guid(HOME, "GLAccount", "4010")
    assert not [e for e in sandboxes.exact.purchase_entries(HOME) if e["YourRef"] == be_number]
    # The supplier found in the other division is remembered for that division only.
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", f"1001@{other}") == seed_guid(other, "Account", "1001")
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", "1001") == seed_guid(HOME, "Account", "1001")

    capsys.readouterr()
    assert main(["records", "list", "--tenant", tenant.name, "--json"], services=pg_services) == 0
    listed = {row["reference"]: row["division"] for row in json.loads(capsys.readouterr().out)}
    assert listed == {be_number: other, nl_number: HOME}
    assert main(["tenant", "show", tenant.name], services=pg_services) == 0
    assert f"BE01: {other}" in capsys.readouterr().out
    assert main(["status"], services=pg_services) == 0
    assert f"{HOME} (own), BE01: {other}" in capsys.readouterr().out


def test_a_division_outside_the_consent_waits_and_resumes_after_consenting_again(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = sandboxes.exact.add_division(2718281)
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    sandboxes.exact.set_consent_scope(tenant.exact_client_id, [HOME])  # the person ticks the home company only
    _consent_again(pg_services, tenant)
    mappings.put(pg_services.db, tenant.id, "division", "DE01", str(other))

    capsys.readouterr()
    assert main(["ping", tenant.name], services=pg_services) == 1
    out = capsys.readouterr().out
    assert f"reaches division(s) {HOME}" in out
    assert f"division {other} (company DE01) is outside the consent's scope" in out
    assert f"ml-connector exact authorize {tenant.name}" in out

    number, record = _send(pg_services, sandboxes, receiver, tenant, "DE01")
    wait_for(lambda: records.get(pg_services.db, record.id).status == "waiting_for_reauth", what="the record to wait")
    waiting = records.get(pg_services.db, record.id)
    assert f"division {other} is outside the consent's scope" in (waiting.reason or "")
    assert "tick that company" in (waiting.reason or "")
    assert pg_services.tenant(tenant.id).grant_status == "active"  # the grant itself lives on

    sandboxes.exact.set_consent_scope(tenant.exact_client_id, None)  # this time every company is ticked
    _consent_again(pg_services, tenant)
    wait_for(lambda: settled(pg_services, record.id), what="the record to resume and be written")
    assert _entry(sandboxes, other, number)["Supplier"] == seed_guid(other, "Account", "1001")
    assert main(["ping", tenant.name], services=pg_services) == 0


def test_a_later_version_updates_the_entry_in_its_own_division(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    other = sandboxes.exact.add_division(1123581)
    tenant = add_tenant(pg_services, sandboxes)
    mappings.put(pg_services.db, tenant.id, "division", "LU01", str(other))
    number, record = _send(pg_services, sandboxes, receiver, tenant, "LU01")
    wait_for(lambda: settled(pg_services, record.id), what="the first version to be written")

    sandboxes.basware.add_invoice(_invoice(number, "LU01", "110.00", "23.10", invoice_id=record.basware_id))
    _deliver(receiver, tenant, record.basware_id)

    def updated() -> bool:
        [line] = _entry(sandboxes, other, number)["PurchaseEntryLines"]
        return bool(line["AmountFC"] == Decimal("110.00"))

    def handled() -> bool:
        return updated() or records.get(pg_services.db, record.id).status == "blocked"

    # The update reaches the entry in its own division: it is updated in place there, or (while the sandbox
    # refuses a header PUT that carries lines) Exact's own refusal of that PUT blocks it; never a 404 from the
    # tenant's own division, where the entry does not exist.
    wait_for(handled, what="the later version to reach the entry in its division")
    reason = records.get(pg_services.db, record.id).reason or ""
    assert updated() or "Exact refused the change" in reason, reason
    assert len([e for e in sandboxes.exact.purchase_entries(other) if e["YourRef"] == number]) == 1


def test_a_record_blocked_in_the_tenants_division_goes_to_a_division_mapped_before_its_replay(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    other = sandboxes.exact.add_division(1414214)
    tenant = add_tenant(pg_services, sandboxes)
    mappings.put(pg_services.db, tenant.id, "gl_account", f"6000@{other}", "4010")  # known there only
    number = f"INV-{uuid.uuid4().hex[:8]}"
    row = ("6000", "CC200", "VAT21", 21, Decimal("100.00"), Decimal("21.00"))
    invoice_id = sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme", [row], company_code="CH01"))
    _deliver(receiver, tenant, invoice_id)
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: records.get(pg_services.db, record.id).status == "blocked", what="the block in the own division")

    mappings.put(pg_services.db, tenant.id, "division", "CH01", str(other))
    assert main(["replay", str(record.id)], services=pg_services) == 0

    wait_for(lambda: records.get(pg_services.db, record.id).status == "written", what="the write in the new division")
    entry = _entry(sandboxes, other, number)
    assert entry["PurchaseEntryLines"][0]["GLAccount"] == seed_guid(other, "GLAccount", "4010")
    assert entry["Supplier"] == seed_guid(other, "Account", "1001")
    assert records.get(pg_services.db, record.id).division == other
