"""VAT codes by type: Exact reads a line's AmountFC as net for an excluding (E) code and as gross for an
including (I) one. Whatever the code, Exact must book Basware's net, VAT and gross to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.sandbox.basware import make_invoice
from connector.sandbox.exact.seed import INCLUSIVE_VAT_CODE
from connector.store import mappings, records
from connector.sync import steps
from connector.sync.services import Services
from tests.integration.mapping_helpers import entries, row, unique
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration


def _write(svc: Services, sandboxes: Sandboxes, vat_code: str, rows: list[dict[str, object]]) -> str:
    tenant = add_tenant(svc, sandboxes)
    mappings.put_many(svc.db, tenant.id, [("vat_code", "VATX", vat_code)])
    number = unique("VT-")
    basware_id = sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", rows))
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    for step in (steps.fetch, steps.map_vendor, steps.validate, steps.write):
        step(svc, record_id)
    assert records.get(svc.db, record_id).status == "written", records.get(svc.db, record_id).reason
    return number


@pytest.mark.parametrize(("vat_code", "kind"), [("1", "excluding"), (INCLUSIVE_VAT_CODE, "including")])
def test_exact_books_basware_net_vat_and_gross_to_the_cent(
    pg_services: Services, sandboxes: Sandboxes, vat_code: str, kind: str
) -> None:
    rows = [
        row(net="100.00", tax="21.00", tax_code="VATX"),
        row(net="33.33", tax="7.00", tax_code="VATX"),  # 21% of 33.33 is 6.9993: Basware's 7.00 must stand
    ]

    number = _write(pg_services, sandboxes, vat_code, rows)

    [entry] = entries(sandboxes.exact, number)
    lines = sorted(entry["PurchaseEntryLines"], key=lambda line: line["GrossAmountFC"])
    assert [(line["VATBaseAmountFC"], line["VATAmountFC"], line["GrossAmountFC"]) for line in lines] == [
        (Decimal("33.33"), Decimal("7.00"), Decimal("40.33")),
        (Decimal("100.00"), Decimal("21.00"), Decimal("121.00")),
    ]
    assert entry["AmountFC"] == Decimal("161.33")
