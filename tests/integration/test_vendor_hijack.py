"""No supplier hijack: a Basware vendor never takes over an Exact supplier by name, nor changes its bank account.

Real PostgreSQL, both sandboxes over HTTP, the CLI and the dashboard. A name-only match is only a suggestion; a
bank account for an existing supplier waits for a person's approval, and who approved it is audited.
"""

from __future__ import annotations

import dataclasses
import getpass
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connector import admin_users
from connector.sandbox.basware import BaswareSandbox, make_vendor
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, audit, bank_changes, mappings, tenants
from connector.store.tenants import Tenant
from connector.sync import vendor_sync
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector import cli
from tests.conftest import make_settings
from tests.support import Sandboxes, add_tenant
from webhook_receiver import create_app

pytestmark = pytest.mark.integration
DIVISION = 100001
PASSWORD = "correct horse battery staple"
VICTIM_IBAN = "NL02ABNA0123456789"
ATTACKER_IBAN = "NL91ABNA0417164300"


@pytest.fixture
def own_basware(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    basware = BaswareSandbox()
    with ServerThread(basware.app) as server:
        yield Sandboxes(sandboxes.exact, basware, sandboxes.exact_url, server.url)


def _tenant(svc: Services, sandboxes: Sandboxes, *, auto_create: bool = True) -> Tenant:
    tenant = add_tenant(svc, sandboxes, auto_create=auto_create)
    tenants.update_tenant(svc.db, tenant.id, vendor_sync_interval=900)
    return svc.tenant(tenant.id)


def _victim(svc: Services, tenant: Tenant, tag: str, **fields: Any) -> dict[str, Any]:
    """An existing Exact supplier with its own VAT number, e-mail and bank account."""
    exact = svc.exact(tenant)
    account = exact.create_account(
        {"Name": f"Acme {tag} BV", "Code": f"7{tag[:5]}", "IsSupplier": True, "VATNumber": f"NL{tag}B07",
         "Email": "ap@acme.example", **fields}
    )  # fmt: skip
    exact.create_bank_account({"Account": account["ID"], "BankAccount": VICTIM_IBAN, "BICCode": "ABNANL2A"})
    return account


def _account(sandboxes: Sandboxes, account_id: str) -> dict[str, Any]:
    [row] = [row for row in sandboxes.exact.accounts(DIVISION) if row["ID"] == account_id]
    return row


def _banks(sandboxes: Sandboxes, account_id: str) -> list[str]:
    return [r["BankAccount"] for r in sandboxes.exact.rows(DIVISION, "crm/BankAccounts") if r["Account"] == account_id]


def _audit(svc: Services, tenant: Tenant) -> list[dict[str, Any]]:
    return audit.entries(svc.db, tenant_id=tenant.id)


@pytest.mark.parametrize("auto_create", [True, False])
def test_a_vendor_with_a_new_code_and_an_existing_suppliers_name_is_only_a_suggestion(
    pg_services: Services, own_basware: Sandboxes, auto_create: bool
) -> None:
    tenant = _tenant(pg_services, own_basware, auto_create=auto_create)
    tag = uuid.uuid4().hex[:6].upper()
    victim = _victim(pg_services, tenant, tag)
    accounts_before = len(own_basware.exact.accounts(DIVISION))
    code = f"H{tag}"
    own_basware.basware.add_vendor(
        make_vendor(code, f"acme {tag}  bv", vat=f"NL{tag}B99", email="pay@attacker.example", street="Elsewhere 1",
                    iban=ATTACKER_IBAN, bic="ABNANL2A")
    )  # fmt: skip

    result = vendor_sync.sync_tenant(pg_services, tenant)

    after = _account(own_basware, victim["ID"])
    assert (after["VATNumber"], after["Email"]) == (f"NL{tag}B07", "ap@acme.example")  # nothing overwritten
    assert _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]  # no IBAN added
    assert len(own_basware.exact.accounts(DIVISION)) == accounts_before  # no look-alike created either
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", code) is None  # not linked
    assert bank_changes.pending(pg_services.db, tenant.id) == []
    assert (result.created, result.updated) == ([], [])
    [(suggested, detail)] = result.suggested
    assert suggested == code and f"Exact has a supplier named Acme {tag} BV (code 7{tag[:5]})" in detail
    assert "1 name match to confirm" in result.summary()
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "vendor_suggested"]
    assert f"7{tag[:5]} Acme {tag} BV" in row["detail"]["suggestions"]


def test_an_invoice_whose_supplier_matches_only_by_name_blocks_with_the_suggestion(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    from connector.errors import RecordBlocked
    from connector.sync import suppliers

    tenant = add_tenant(pg_services, sandboxes, auto_create=True)
    tag = uuid.uuid4().hex[:6].upper()
    victim = _victim(pg_services, tenant, tag)
    code = f"I{tag}"
    before = len(sandboxes.exact.accounts(DIVISION))

    with pytest.raises(RecordBlocked) as caught:
        suppliers.resolve(pg_services, tenant, suppliers.SupplierRef(code, f"ACME {tag} BV"))

    assert str(caught.value) == (
        f"supplier {code} not found by code or VAT; Exact has a supplier named Acme {tag} BV (code 7{tag[:5]}): "
        "map it if it is the same"
    )
    [problem] = caught.value.problems
    assert problem["field"] == "vendor" and problem["suggestions"] == [f"7{tag[:5]} Acme {tag} BV"]
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", code) is None
    assert len(sandboxes.exact.accounts(DIVISION)) == before  # auto-create does not make a look-alike
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "vendor_suggested"]
    assert code in row["message"]

    mappings.put(pg_services.db, tenant.id, "vendor", code, victim["ID"])  # a person confirms it
    assert suppliers.resolve(pg_services, tenant, suppliers.SupplierRef(code, f"ACME {tag} BV")).id == victim["ID"]


def test_a_link_an_earlier_version_made_by_name_alone_updates_nothing_until_a_person_confirms_it(
    pg_services: Services, own_basware: Sandboxes
) -> None:
    tenant = _tenant(pg_services, own_basware)
    tag = uuid.uuid4().hex[:6].upper()
    victim = _victim(pg_services, tenant, tag)
    code = f"L{tag}"
    mappings.put(pg_services.db, tenant.id, "vendor", code, victim["ID"], origin="name")  # never confirmed
    own_basware.basware.add_vendor(
        make_vendor(code, f"Acme {tag} BV", email="pay@attacker.example", iban=ATTACKER_IBAN, bic="ABNANL2A")
    )

    result = vendor_sync.sync_tenant(pg_services, tenant)

    assert _account(own_basware, victim["ID"])["Email"] == "ap@acme.example"
    assert bank_changes.pending(pg_services.db, tenant.id) == []
    [(suggested, detail)] = result.suggested
    assert suggested == code and "linked by name only" in detail

    mappings.put(pg_services.db, tenant.id, "vendor", code, victim["ID"], origin="manual")  # a person confirms
    confirmed = vendor_sync.sync_tenant(pg_services, tenant, full=True)

    assert confirmed.updated == [code] and _account(own_basware, victim["ID"])["Email"] == "pay@attacker.example"
    assert [c.iban for c in bank_changes.pending(pg_services.db, tenant.id)] == [ATTACKER_IBAN]  # still asked
    assert _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]


def test_an_invoice_of_a_vendor_an_earlier_version_linked_by_name_blocks_until_the_link_is_confirmed(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    from connector.sync import suppliers

    tenant = add_tenant(pg_services, sandboxes)
    tag = uuid.uuid4().hex[:6].upper()
    victim = _victim(pg_services, tenant, tag)
    code = f"E{tag}"
    mappings.put(pg_services.db, tenant.id, "vendor", code, victim["ID"], origin="name")  # never confirmed

    with pytest.raises(suppliers.SupplierSuggested) as caught:
        suppliers.resolve(pg_services, tenant, suppliers.SupplierRef(code, f"Acme {tag} BV"))

    assert "linked by name only by an earlier version" in str(caught.value)
    assert caught.value.problems[0]["suggestions"] == [f"7{tag[:5]} Acme {tag} BV"]
    mappings.put(pg_services.db, tenant.id, "vendor", code, victim["ID"], origin="manual")  # a person confirms
    assert suppliers.resolve(pg_services, tenant, suppliers.SupplierRef(code, f"Acme {tag} BV")).id == victim["ID"]


def _code_matched(svc: Services, sandboxes: Sandboxes, tag: str) -> tuple[Tenant, dict[str, Any], str]:
    """A tenant whose Basware vendor has the Exact supplier's code and a new IBAN, synced once."""
    tenant = _tenant(svc, sandboxes)
    victim = _victim(svc, tenant, tag)
    code = f"7{tag[:5]}"
    sandboxes.basware.add_vendor(
        make_vendor(code, f"Acme {tag} BV", vat=f"NL{tag}B07", email="ap@acme.example", iban=ATTACKER_IBAN,
                    bic="ABNANL2A")
    )  # fmt: skip
    return tenant, victim, code


def test_a_new_iban_for_an_existing_supplier_waits_for_approval_and_the_cli_approves_it(
    pg_services: Services, own_basware: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    tenant, victim, code = _code_matched(pg_services, own_basware, tag)

    first = vendor_sync.sync_tenant(pg_services, tenant)
    again = vendor_sync.sync_tenant(pg_services, tenant, full=True)

    assert _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]  # not applied without a person
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", code) == victim["ID"]  # linked by code
    [change] = bank_changes.pending(pg_services.db, tenant.id)  # asked once, not once per run
    assert (change.account_id, change.iban, change.vendor_code) == (victim["ID"], ATTACKER_IBAN, code)
    assert "1 bank account awaiting approval" in first.summary() and "1 bank account" in again.summary()
    assert [r["event"] for r in _audit(pg_services, tenant)].count("bank_account_pending") == 1

    assert cli.main(["vendors", "pending", tenant.name], services=pg_services) == 0
    listing = capsys.readouterr().out
    assert str(change.id) in listing and ATTACKER_IBAN in listing and f"Acme {tag} BV" in listing
    assert cli.main(["vendors", "approve", str(change.id)], services=pg_services) == 0
    assert cli.main(["vendors", "approve", str(change.id)], services=pg_services) == 1  # decided already

    assert sorted(_banks(own_basware, victim["ID"])) == sorted([VICTIM_IBAN, ATTACKER_IBAN])
    assert bank_changes.pending(pg_services.db, tenant.id) == []
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "bank_account_approved"]
    assert f"approved by {getpass.getuser()}" in row["message"] and ATTACKER_IBAN in row["message"]


def test_a_rejected_bank_account_never_reaches_exact(
    pg_services: Services, own_basware: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    tenant, victim, _code = _code_matched(pg_services, own_basware, tag)
    vendor_sync.sync_tenant(pg_services, tenant)
    [change] = bank_changes.pending(pg_services.db, tenant.id)

    assert cli.main(["vendors", "reject", str(change.id)], services=pg_services) == 0
    vendor_sync.sync_tenant(pg_services, tenant, full=True)  # a rejected IBAN is not asked for again

    assert _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]
    assert bank_changes.pending(pg_services.db, tenant.id) == []
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "bank_account_rejected"]
    assert f"rejected by {getpass.getuser()}" in row["message"]
    capsys.readouterr()
    assert cli.main(["vendors", "pending", tenant.name], services=pg_services) == 0
    assert capsys.readouterr().out == f"no bank account of tenant {tenant.name} is waiting for approval\n"


# --- the dashboard ----------------------------------------------------------------------------------------


@pytest.fixture
def approver() -> str:
    return f"approver-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def admin_url(pg_url: str, secret_key: str, tmp_path: Path, approver: str) -> Iterator[str]:
    """The dashboard with one user of this test only, removed afterwards (the database is shared)."""
    settings = make_settings(tmp_path, pg_url, secret_key)
    # Cookies without Secure (allowed on loopback only): `requests` keeps Secure cookies off http.
    svc = build_services(dataclasses.replace(settings, cookie_secure=False))
    admin_users.add_user(svc.db, approver, PASSWORD)
    try:
        with ServerThread(create_app(svc, enqueue=lambda record_id: None)) as server:
            yield server.url
    finally:
        admin_auth.remove_user(svc.db, approver)
        svc.close()


def test_the_dashboard_lists_a_pending_bank_account_and_approves_it_with_the_users_name(
    pg_services: Services, own_basware: Sandboxes, admin_url: str, approver: str
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    tenant, victim, _code = _code_matched(pg_services, own_basware, tag)
    vendor_sync.sync_tenant(pg_services, tenant)
    [change] = bank_changes.pending(pg_services.db, tenant.id)

    with requests.Session() as browser:
        browser.auth = (approver, PASSWORD)
        page = browser.get(f"{admin_url}/admin/bank-accounts", timeout=10)
        assert page.status_code == 200 and ATTACKER_IBAN in page.text and f"Acme {tag} BV" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        forged = browser.post(f"{admin_url}/admin/bank-accounts/{change.id}/approve", data={}, timeout=10)
        assert forged.status_code == 400 and _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]
        done = browser.post(
            f"{admin_url}/admin/bank-accounts/{change.id}/approve", data={"csrf_token": token.group(1)}, timeout=10
        )

    assert done.status_code == 200 and "approved" in done.text
    assert sorted(_banks(own_basware, victim["ID"])) == sorted([VICTIM_IBAN, ATTACKER_IBAN])
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "bank_account_approved"]
    assert f"approved by {approver} on the dashboard" in row["message"]


def test_the_dashboard_rejects_a_bank_account_and_lists_it_no_more(
    pg_services: Services, own_basware: Sandboxes, admin_url: str, approver: str
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    tenant, victim, _code = _code_matched(pg_services, own_basware, tag)
    vendor_sync.sync_tenant(pg_services, tenant)
    [change] = bank_changes.pending(pg_services.db, tenant.id)

    with requests.Session() as browser:
        browser.auth = (approver, PASSWORD)
        page = browser.get(f"{admin_url}/admin/bank-accounts", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        url = f"{admin_url}/admin/bank-accounts/{change.id}/reject"
        done = browser.post(url, data={"csrf_token": token.group(1)}, timeout=10)
        again = browser.post(url, data={"csrf_token": token.group(1)}, timeout=10)  # a second click

    assert done.status_code == 200 and f"rejected by {approver} on the dashboard" in done.text
    assert again.status_code == 200 and "already rejected" in again.text
    assert f"/admin/bank-accounts/{change.id}/approve" not in again.text  # no longer offered
    assert _banks(own_basware, victim["ID"]) == [VICTIM_IBAN]
    [row] = [r for r in _audit(pg_services, tenant) if r["event"] == "bank_account_rejected"]
    assert row["detail"]["by"] == f"{approver} on the dashboard"
