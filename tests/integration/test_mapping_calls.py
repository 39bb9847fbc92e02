"""Steady state costs one Exact call per invoice, and the amounts Exact receives are Basware's digits.

Each test has an Exact sandbox of its own, so its call counter and the raw request bodies belong to it alone.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.sync.services import Services
from tests.integration import mapping_helpers as helpers
from tests.integration.mapping_helpers import OwnExact, deliver, entries, row, settle, unique
from tests.support import add_tenant

pytestmark = pytest.mark.integration
own_exact = helpers.own_exact  # a shared fixture
KNOWN = [("1001", "Acme Supplies BV"), ("1002", "Globex Office Supplies"), ("1003", "Initech Logistics")]


def test_fifty_invoices_for_known_vendors_cost_one_exact_call_each(
    pg_services: Services,
    own_exact: OwnExact,
    worker: Any,
    receiver: str,
) -> None:
    tenant = add_tenant(pg_services, own_exact.sandboxes)
    sandboxes = own_exact.sandboxes
    # Warm-up: the first invoice of each vendor finds it by code and fills the master data cache.
    for code, name in KNOWN:
        document = make_invoice(unique("W-"), code, name, [row()])
        assert settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, document)).status == "written"
    before = own_exact.calls()
    documents = [
        make_invoice(unique("INV-"), *KNOWN[i % 3], [row(account=str(4000 + i), cost_center="CC200", unit="CU1"),
                                                     row(net="9.95", tax="0.90", tax_code="VAT9", percent=9)])
        for i in range(50)
    ]  # fmt: skip

    with ThreadPoolExecutor(5) as pool:
        record_ids = list(pool.map(lambda d: deliver(pg_services, sandboxes, receiver, tenant.name, d), documents))
    written = [settle(pg_services, record_id) for record_id in record_ids]

    assert [r.status for r in written] == ["written"] * 50
    calls = own_exact.calls() - before
    print(f"\n50 invoices cost {calls} Exact calls ({calls / 50:.2f} per invoice)")
    assert calls <= 55, f"50 invoices cost {calls} Exact calls"
    assert len(own_exact.exact.purchase_entries(100001)) == 53


def test_exact_receives_basware_amounts_digit_for_digit_in_the_invoice_currency(
    pg_services: Services,
    own_exact: OwnExact,
    worker: Any,
    receiver: str,
) -> None:
    tenant = add_tenant(pg_services, own_exact.sandboxes)
    invoice_number, credit_number = unique("USD-"), unique("CN-")
    invoice = make_invoice(
        invoice_number,
        "1001",
        "Acme Supplies BV",
        [row(net="1250.10", tax="262.52"), row(net="0.05", tax="0.00", tax_code="VAT0", percent=0)],
        currency="USD",
    )
    credit = make_invoice(credit_number, "1002", "Globex", [row(net="-45.50", tax="-9.56")])

    for document in (invoice, credit):
        record_id = deliver(pg_services, own_exact.sandboxes, receiver, tenant.name, document)
        assert settle(pg_services, record_id).status == "written"

    # parse_float=str keeps each number's text: a float on the way would have turned 1250.10 into 1250.1.
    sent = [json.loads(body, parse_float=str) for body in own_exact.recorder.bodies]
    by_ref = {body["YourRef"]: body for body in sent}
    assert by_ref[invoice_number]["Currency"] == "USD"
    assert [(ln["AmountFC"], ln["VATAmountFC"]) for ln in by_ref[invoice_number]["PurchaseEntryLines"]] == [
        ("1250.10", "262.52"),
        ("0.05", "0.00"),
    ]
    assert [(ln["AmountFC"], ln["VATAmountFC"]) for ln in by_ref[credit_number]["PurchaseEntryLines"]] == [
        ("-45.50", "-9.56")
    ]
    [stored] = entries(own_exact.exact, invoice_number)
    assert (stored["Currency"], str(stored["AmountFC"]), stored["Type"]) == ("USD", "1512.67", 30)
    [stored_credit] = entries(own_exact.exact, credit_number)
    assert (str(stored_credit["AmountFC"]), stored_credit["Type"]) == ("-55.06", 31)
