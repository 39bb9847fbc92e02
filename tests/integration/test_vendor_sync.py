"""Vendor master data: Basware vendors become Exact suppliers and their changes follow, run by interval or on demand.

Real PostgreSQL and both sandboxes over HTTP; each test has a Basware sandbox of its own so a sync sees only
its vendors. Runs are called with a controlled `now`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connector.sandbox.basware import make_vendor
from connector.store import audit, mappings, tenants
from connector.store.tenants import Tenant
from connector.sync import vendor_sync
from connector.sync.services import Services
from ml_connector import cli
from tests.support import Sandboxes, add_tenant, own_basware_next_to

pytestmark = pytest.mark.integration
DIVISION = 100001
T0 = 1_900_000_000.0
INTERVAL = 900


@pytest.fixture
def own_basware(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    with own_basware_next_to(sandboxes) as own:
        yield own


def _tenant(svc: Services, sandboxes: Sandboxes, *, auto_create: bool = True) -> Tenant:
    tenant = add_tenant(svc, sandboxes, auto_create=auto_create)
    tenants.update_tenant(svc.db, tenant.id, vendor_sync_interval=INTERVAL)
    return svc.tenant(tenant.id)


def _account(sandboxes: Sandboxes, account_id: str) -> dict[str, Any]:
    [row] = [row for row in sandboxes.exact.accounts(DIVISION) if row["ID"] == account_id]
    return row


def _bank_accounts(sandboxes: Sandboxes, account_id: str) -> list[str]:
    return [
        row["BankAccount"] for row in sandboxes.exact.rows(DIVISION, "crm/BankAccounts") if row["Account"] == account_id
    ]


def _events(svc: Services, tenant: Tenant) -> list[str]:
    return [row["event"] for row in audit.entries(svc.db, tenant_id=tenant.id) if row["step"] == "vendor_sync"]


def test_new_vendors_become_suppliers_and_later_changes_update_them(
    pg_services: Services, own_basware: Sandboxes
) -> None:
    tenant = _tenant(pg_services, own_basware)
    tag = uuid.uuid4().hex[:6].upper()
    new_code, known_code = f"N{tag}", f"K{tag}"
    known_vat = f"NL{tag}B01"
    known = pg_services.exact(tenant).create_account({"Name": f"Known {tag} BV", "Code": f"9{tag[:5]}",
                                                     "IsSupplier": True, "VATNumber": known_vat})  # fmt: skip
    own_basware.basware.add_vendor(
        make_vendor(new_code, f"Newco {tag} BV", vat=f"NL{tag}B02", email="ap@newco.example", street="Main 1",
                    postcode="1011 AB", city="Amsterdam", country="NL", iban="NL91ABNA0417164300", bic="ABNANL2A")
    )  # fmt: skip
    own_basware.basware.add_vendor(make_vendor(known_code, f"Known {tag} BV", vat=known_vat, email="ap@known.example"))

    first = vendor_sync.sync_if_due(pg_services, tenant, now=T0)

    assert first is not None and (first.created, first.updated, first.skipped) == ([new_code], [known_code], [])
    created_id = mappings.lookup(pg_services.db, tenant.id, "vendor", new_code)
    assert created_id is not None
    created = _account(own_basware, created_id)
    assert (created["Name"], created["VATNumber"], created["Email"], created["City"], created["IsSupplier"]) == (
        f"Newco {tag} BV", f"NL{tag}B02", "ap@newco.example", "Amsterdam", True,
    )  # fmt: skip
    assert _bank_accounts(own_basware, created_id) == ["NL91ABNA0417164300"]
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", known_code) == known["ID"]  # matched by VAT
    assert _account(own_basware, known["ID"])["Email"] == "ap@known.example"

    own_basware.basware.add_vendor(
        make_vendor(new_code, f"Newco {tag} BV", vat=f"NL{tag}B02", email="invoices@newco.example",
                    street="Dam 2", postcode="1012 JS", city="Amsterdam", country="NL", iban="NL91ABNA0417164300")
    )  # fmt: skip
    assert vendor_sync.sync_if_due(pg_services, tenant, now=T0 + INTERVAL - 1) is None  # not due yet

    second = vendor_sync.sync_if_due(pg_services, tenant, now=T0 + INTERVAL)

    assert second is not None and (second.created, second.updated, second.unchanged) == ([], [new_code], [])
    after = _account(own_basware, created_id)
    assert (after["Email"], after["AddressLine1"], after["Postcode"]) == ("invoices@newco.example", "Dam 2", "1012 JS")
    assert _bank_accounts(own_basware, created_id) == ["NL91ABNA0417164300"]  # not added twice
    # The link by VAT number is audited on its own, before the change it allowed.
    assert _events(pg_services, tenant) == ["supplier_created", "vendor_linked", "supplier_updated", "supplier_updated"]
    [change] = [
        row for row in audit.entries(pg_services.db, tenant_id=tenant.id) if row["event"] == "supplier_updated"
    ][-1:]
    assert "Email ap@newco.example -> invoices@newco.example" in change["message"]


def test_without_auto_create_a_new_vendor_is_reported_not_created(
    pg_services: Services, own_basware: Sandboxes
) -> None:
    tenant = _tenant(pg_services, own_basware, auto_create=False)
    code = f"X{uuid.uuid4().hex[:6].upper()}"
    own_basware.basware.add_vendor(make_vendor(code, f"Unknown {code} BV"))
    before = len(own_basware.exact.accounts(DIVISION))

    result = vendor_sync.sync_tenant(pg_services, tenant)

    assert result.skipped == [(code, "not in Exact; auto-create is off")]
    assert len(own_basware.exact.accounts(DIVISION)) == before
    assert mappings.lookup(pg_services.db, tenant.id, "vendor", code) is None
    assert _events(pg_services, tenant) == ["vendor_not_created"]


def test_a_tenant_with_vendor_sync_off_is_never_synced(pg_services: Services, own_basware: Sandboxes) -> None:
    tenant = _tenant(pg_services, own_basware)
    tenants.update_tenant(pg_services.db, tenant.id, vendor_sync_interval=0)
    own_basware.basware.add_vendor(make_vendor(f"O{uuid.uuid4().hex[:6]}", "Off BV"))

    assert vendor_sync.sync_if_due(pg_services, pg_services.tenant(tenant.id), now=T0) is None
    assert _events(pg_services, tenant) == []


def test_vendors_sync_on_demand_shows_progress_and_a_summary(
    pg_services: Services, own_basware: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = _tenant(pg_services, own_basware)
    tag = uuid.uuid4().hex[:6].upper()
    for number in range(3):
        own_basware.basware.add_vendor(make_vendor(f"C{tag}{number}", f"Cli {tag} {number} BV"))

    assert cli.main(["vendors", "sync", tenant.name], services=pg_services) == 0
    assert cli.main(["vendors", "sync", tenant.name], services=pg_services) == 0  # nothing changed: nothing to do

    out = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in out if line.strip().startswith(("1 ", "2 ", "3 "))] == [
        f"C{tag}0", f"C{tag}1", f"C{tag}2",
    ]  # fmt: skip
    assert out.count("done: 3 created, 0 updated, 0 unchanged, 0 skipped") == 1
    assert out[-1] == "done: 0 created, 0 updated, 0 unchanged, 0 skipped"
