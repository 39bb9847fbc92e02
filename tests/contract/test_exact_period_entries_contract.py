"""The reconciliation's Exact read against the sandbox: one journal, a date range, few fields, page by page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connector.sandbox.exact import seed
from tests.contract.exact_fixtures import DIVISION, running_exact


def _post(client, ref: str, on: date, journal: str = seed.PURCHASE_JOURNAL) -> None:  # type: ignore[no-untyped-def]
    supplier = client.find_supplier_by_code("1001")
    gl = next(row["ID"] for row in client.gl_accounts() if row["Code"] == "4000")
    line = {"GLAccount": gl, "AmountFC": Decimal("10.00"), "VATCode": "1", "VATAmountFC": Decimal("2.10")}
    client.create_purchase_entry(
        {"Journal": journal, "Supplier": supplier["ID"], "EntryDate": on, "YourRef": ref, "Currency": "EUR",
         "PurchaseEntryLines": [line]}
    )  # fmt: skip


def test_entries_of_the_journal_in_the_period_are_read_with_only_the_fields_asked_for() -> None:
    with running_exact(minute_limit=1000, page_size=2) as exact:
        for day in (1, 15, 30):
            _post(exact.client, f"NOV-{day}", date(2026, 11, day))
        _post(exact.client, "OCT-31", date(2026, 10, 31))
        _post(exact.client, "DEC-1", date(2026, 12, 1))
        pages: list[tuple[int, int | None]] = []
        before = exact.sandbox.api_calls[DIVISION]

        found = exact.client.purchase_entries_between(
            "60", date(2026, 11, 1), date(2026, 11, 30), on_page=lambda *seen: pages.append(seen)
        )

        assert sorted(row["YourRef"] for row in found) == ["NOV-1", "NOV-15", "NOV-30"]  # both ends included
        assert exact.sandbox.api_calls[DIVISION] - before == 2  # three entries on pages of two
        assert pages == [(2, 3), (3, 3)]  # the total came with the first page, at no extra call
        assert set(found[0]) - {"__metadata"} == {
            "EntryID", "EntryNumber", "Journal", "Supplier", "EntryDate", "YourRef", "Currency", "AmountFC"
        }  # fmt: skip
        assert found[0]["AmountFC"] == Decimal("12.10")
        [(method, path)] = {(m, p.split("?")[0]) for m, p in exact.sandbox.request_log[-2:]}
        assert (method, path) == ("GET", f"/api/v1/{DIVISION}/purchaseentry/PurchaseEntries")
