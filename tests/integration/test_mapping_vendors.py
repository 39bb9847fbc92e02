"""Which Exact supplier an invoice is posted to: mapping, VAT number, name, ambiguity, creation (once), or a block.

PostgreSQL, Redis, the real worker process and both sandboxes over HTTP.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice, make_vendor
from connector.sandbox.exact.seed import seed_guid
from connector.store import audit, mappings, records
from connector.sync.services import Services
from tests.integration import mapping_helpers as helpers
from tests.integration.mapping_helpers import (
    DIVISION,
    CliRunner,
    deliver,
    entries,
    responses,
    row,
    settle,
    unique,
)
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
run_cli = helpers.run_cli  # a shared fixture


def _vendor_events(svc: Services, record_id: int) -> list[tuple[str, str]]:
    return [(a["event"], a["message"]) for a in audit.entries(svc.db, record_id=record_id) if a["step"] == "map_vendor"]


def _account(svc: Services, tenant: Any, **fields: Any) -> dict[str, Any]:
    """A supplier made in the Exact sandbox through its API."""
    return svc.exact(tenant).create_account({"IsSupplier": True, **fields})


def test_a_mapped_vendor_is_posted_to_the_mapped_supplier(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    code, number = unique("V"), unique("INV-")
    mappings.put(pg_services.db, tenant.id, "vendor", code, "1002")

    record_id = deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(number, code, "Globex NL", [row()]))

    assert settle(pg_services, record_id).status == "written"
    [entry] = entries(sandboxes.exact, number)
    assert entry["Supplier"] == seed_guid(DIVISION, "Account", "1002")
    [(event, message)] = _vendor_events(pg_services, record_id)
    assert event == "vendor_mapping" and "the vendor mapping (set by an operator)" in message


def test_a_vendor_is_found_by_its_vat_number_and_remembered(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    code, vat = unique("V"), f"NL{unique('')}B01"
    account = _account(pg_services, tenant, Name=unique("Stark Industries "), Code=unique("S"), VATNumber=vat)
    # Basware writes the VAT number with spaces and in lower case; the invoice's name and code differ.
    sandboxes.basware.add_vendor(make_vendor(code, "Stark Ind.", vat=f"{vat[:2].lower()} {vat[2:]}"))
    first, second = unique("INV-"), unique("INV-")

    first_id = deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(first, code, "Stark Ind.", [row()]))
    settle(pg_services, first_id)
    second_id = deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(second, code, "Stark", [row()]))
    settle(pg_services, second_id)

    assert [e["Supplier"] for e in entries(sandboxes.exact, first) + entries(sandboxes.exact, second)] == [
        account["ID"]
    ] * 2
    assert mappings.entry(pg_services.db, tenant.id, "vendor", code).origin == "vat"  # type: ignore[union-attr]
    [(event, message)] = _vendor_events(pg_services, first_id)
    assert event == "vendor_vat" and "found by VAT number" in message
    [(event, message)] = _vendor_events(pg_services, second_id)
    assert event == "vendor_mapping" and "remembered from a match by VAT number" in message


def test_a_vendor_found_only_by_name_blocks_with_the_suggestion_until_a_person_maps_it(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, run_cli: CliRunner, tmp_path: Any
) -> None:
    # A name is no proof of identity (issue 14: a look-alike vendor would take over the supplier's payments).
    tenant = add_tenant(pg_services, sandboxes, auto_create=True)
    name = unique("Wayne Enterprises ")
    account = _account(pg_services, tenant, Name=name, Code=unique("W"))
    code, number = unique("V"), unique("INV-")
    untidy = f"  {name.upper().replace(' ', '  ')} "
    accounts_before = len(sandboxes.exact.accounts(DIVISION))

    record_id = deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(number, code, untidy, [row()]))

    record = settle(pg_services, record_id)
    assert record.status == "blocked" and entries(sandboxes.exact, number) == []
    assert record.reason == (
        f"supplier {code} not found by code or VAT; Exact has a supplier named {name} (code {account['Code'].strip()}):"
        " map it if it is the same"
    )
    [problem] = record.problems or []
    assert problem["field"] == "vendor" and problem["suggestions"] == [f"{account['Code'].strip()} {name}"]
    assert mappings.entry(pg_services.db, tenant.id, "vendor", code) is None  # nothing linked
    assert len(sandboxes.exact.accounts(DIVISION)) == accounts_before  # and no look-alike created
    csv = tmp_path / "vendors.csv"
    csv.write_text(f"kind,source,target\nvendor,{code},{account['Code'].strip()}\n")

    assert run_cli("mappings", "import", tenant.name, str(csv))[0] == 0
    assert run_cli("replay", str(record_id))[0] == 0

    assert settle(pg_services, record_id).status == "written"
    assert [e["Supplier"] for e in entries(sandboxes.exact, number)] == [account["ID"]]


@pytest.mark.parametrize("rule", ["VAT number", "name"])
def test_two_suppliers_matching_block_as_ambiguous_and_list_both(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, rule: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    name, vat, code, number = unique("Twin Trading "), f"NL{unique('')}B02", unique("V"), unique("INV-")
    shared = {"VATNumber": vat} if rule == "VAT number" else {"Name": name}
    twins = [_account(pg_services, tenant, **{"Name": unique("Twin "), "Code": unique("T"), **shared}) for _ in "ab"]
    if rule == "VAT number":
        sandboxes.basware.add_vendor(make_vendor(code, "Twin BV", vat=vat))
    invoice = make_invoice(number, code, name if rule == "name" else "Twin BV", [row()])

    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))

    assert record.status == "blocked" and entries(sandboxes.exact, number) == []
    [problem] = record.problems or []
    assert problem["field"] == "vendor" and problem["basware_code"] == code
    assert f"2 Exact suppliers have the same {rule}" in problem["problem"]
    assert sorted(problem["suggestions"]) == sorted(f"{t['Code'].strip()} {t['Name']}" for t in twins)
    assert f"matches 2 Exact suppliers by {rule}" in (record.reason or "")
    assert responses(sandboxes, record)[0][0] is False
    assert mappings.entry(pg_services.db, tenant.id, "vendor", code) is None  # nothing remembered


def test_ten_invoices_of_a_new_vendor_at_once_create_it_once(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes, auto_create=True)
    code, vat = unique("N"), f"NL{unique('')}B03"
    name = unique("Umbrella Corp ")
    sandboxes.basware.add_vendor(
        make_vendor(code, name, vat=vat, email="ap@umbrella.example", street="Main Street 1", postcode="1234 AB",
                    city="Utrecht", country="NL", iban="NL91ABNA0417164300", bic="ABNANL2A")
    )  # fmt: skip
    numbers = [unique("INV-") for _ in range(10)]
    invoices = [make_invoice(n, code, name, [row()]) for n in numbers]

    with ThreadPoolExecutor(10) as pool:
        record_ids = list(pool.map(lambda doc: deliver(pg_services, sandboxes, receiver, tenant.name, doc), invoices))
    settled_records = [settle(pg_services, record_id) for record_id in record_ids]

    assert [r.status for r in settled_records] == ["written"] * 10
    [account] = [a for a in sandboxes.exact.accounts(DIVISION) if a["Code"].strip() == code]
    assert {k: (v.strip() if isinstance(v, str) else v) for k, v in account.items() if k in _CREATED} == {
        "Name": name, "VATNumber": vat, "Email": "ap@umbrella.example", "AddressLine1": "Main Street 1",
        "Postcode": "1234 AB", "City": "Utrecht", "Country": "NL", "IsSupplier": True,
    }  # fmt: skip
    assert {e["Supplier"] for n in numbers for e in entries(sandboxes.exact, n)} == {account["ID"]}
    assert sum(len(entries(sandboxes.exact, n)) for n in numbers) == 10
    remembered = mappings.entry(pg_services.db, tenant.id, "vendor", code)
    assert remembered is not None and (remembered.target, remembered.origin) == (account["ID"], "created")
    events = [event for record_id in record_ids for event, _ in _vendor_events(pg_services, record_id)]
    # One chain created it; the others found it: mostly by the mapping, or by a rule if they looked just as it
    # appeared in Exact.
    assert events.count("vendor_created") == 1 and len(events) == 10
    assert set(events) - {"vendor_created"} <= {"vendor_mapping", "vendor_code", "vendor_vat", "vendor_name"}
    [created] = [m for r in record_ids for e, m in _vendor_events(pg_services, r) if e == "vendor_created"]
    assert "bank account NL91ABNA0417164300 added" in created
    banks = [b for b in sandboxes.exact.rows(DIVISION, "crm/BankAccounts") if b["Account"] == account["ID"]]
    assert [(b["BankAccount"], b["BICCode"]) for b in banks] == [("NL91ABNA0417164300", "ABNANL2A")]


_CREATED = ("Name", "VATNumber", "Email", "AddressLine1", "Postcode", "City", "Country", "IsSupplier")


def test_an_unknown_vendor_blocks_when_creation_is_off_until_a_mapping_is_imported_and_replayed(
    pg_services: Services,
    sandboxes: Sandboxes,
    worker: Any,
    receiver: str,
    run_cli: CliRunner,
    tmp_path: Any,
) -> None:
    tenant = add_tenant(pg_services, sandboxes, auto_create=False)
    code, number = unique("U"), unique("INV-")
    name = unique("Nobody Knows Ltd ")

    record = settle(
        pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(number, code, name, [row()]))
    )

    assert record.status == "blocked"
    assert record.reason == (
        f"vendor {code} ({name}) not found in Exact division {DIVISION}; create it or add a mapping"
    )
    assert not [a for a in sandboxes.exact.accounts(DIVISION) if a["Code"].strip() == code]
    csv = tmp_path / "vendors.csv"
    csv.write_text(f"kind,source,target\nvendor,{code},1003\n")

    assert run_cli("mappings", "import", tenant.name, str(csv))[0] == 0
    code_, out, _err = run_cli("replay", str(record.id))

    assert code_ == 0 and "1 record replayed" in out
    record = settle(pg_services, record.id)
    assert record.status == "written"
    [entry] = entries(sandboxes.exact, number)
    assert entry["Supplier"] == seed_guid(DIVISION, "Account", "1003")
    assert [ok for ok, _ in responses(sandboxes, record)] == [False, True]
    assert sandboxes.basware.invoice(record.basware_id)["processingStatus"] == "Transferred"
    assert records.get(pg_services.db, record.id).exact_number == str(entry["EntryNumber"])
