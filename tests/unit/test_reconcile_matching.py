"""The month-end matcher: every Basware document and every Exact entry lands in exactly one category."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connector.mapping.reconcile import BaswareDocument, Category, ExactEntry, reconcile

ACME, BOLT = "0b8a6a55-0000-4000-8000-000000000001", "0b8a6a55-0000-4000-8000-000000000002"
ON = date(2026, 11, 10)
D = Decimal


def doc(ref: str, gross: str | None, supplier: str | None = ACME, **kw: object) -> BaswareDocument:
    values: dict[str, object] = dict(
        basware_id=f"bw-{ref}", reference=ref, supplier="Acme", supplier_id=supplier, currency="EUR",
        gross=None if gross is None else D(gross), invoice_date=ON, status="written",
    )  # fmt: skip
    values.update(kw)
    return BaswareDocument(**values)  # type: ignore[arg-type]


def entry(number: int, ref: str, amount: str, supplier: str = ACME, currency: str = "EUR") -> ExactEntry:
    return ExactEntry(f"e0000000-0000-4000-8000-{number:012d}", str(number), supplier, ref, currency, D(amount), ON)


def test_same_supplier_reference_and_gross_to_the_cent_match() -> None:
    report = reconcile([doc("INV-1", "121.00")], [entry(1, "inv-1", "121.000")])

    assert [line.category for line in report.lines] == [Category.MATCHED]
    assert report.is_clean


def test_a_cent_apart_is_an_amount_difference_with_both_amounts() -> None:
    report = reconcile([doc("INV-1", "121.00")], [entry(1, "INV-1", "120.99")])

    [line] = report.lines
    assert line.category == Category.AMOUNT_DIFFERS
    assert (line.basware_amount, line.exact_amount) == (D("121.00"), D("120.99"))
    assert not report.is_clean


def test_the_entry_the_connector_wrote_is_found_by_its_id_even_if_its_reference_was_changed() -> None:
    written = entry(1, "changed by hand", "121.00")
    report = reconcile([doc("INV-1", "121.00", exact_id=written.entry_id.upper())], [written])

    [line] = report.lines
    assert line.category == Category.AMOUNT_DIFFERS  # found, but the reference no longer agrees
    assert [e.entry_id for e in line.entries] == [written.entry_id]


def test_a_blocked_document_is_in_basware_not_in_exact_with_its_state_and_reason() -> None:
    blocked = doc("INV-2", "50.00", supplier=None, status="blocked", reason="GL account 4999 does not exist")
    report = reconcile([blocked], [])

    [line] = report.of(Category.NOT_IN_EXACT)
    assert line.document is not None and line.document.reason == "GL account 4999 does not exist"


def test_two_entries_for_one_invoice_are_duplicates_and_an_other_suppliers_entry_is_by_hand() -> None:
    report = reconcile(
        [doc("INV-3", "10.00")],
        [entry(1, "INV-3", "10.00"), entry(2, "INV-3", "10.00"), entry(3, "INV-3", "10.00", supplier=BOLT)],
    )

    [duplicate] = report.of(Category.DUPLICATE)
    assert len(duplicate.entries) == 2
    [by_hand] = report.of(Category.NOT_FROM_BASWARE)
    assert by_hand.entries[0].supplier_id == BOLT


def test_totals_per_category_and_currency_and_a_grand_total_per_currency() -> None:
    report = reconcile(
        [doc("A", "100.00"), doc("B", "20.00"), doc("C", "5.00", currency="USD")],
        [entry(1, "A", "100.00"), entry(2, "B", "19.00"), entry(3, "X", "7.50")],
    )

    assert report.totals[(Category.MATCHED, "EUR")].count == 1
    assert report.totals[(Category.AMOUNT_DIFFERS, "EUR")].exact == D("19.00")
    assert report.totals[(Category.NOT_IN_EXACT, "USD")].basware == D("5.00")
    assert (report.grand["EUR"].basware, report.grand["EUR"].exact) == (D("120.00"), D("126.50"))
    assert report.grand["USD"].count == 1


def test_a_different_currency_is_no_match() -> None:
    report = reconcile([doc("A", "100.00")], [entry(1, "A", "100.00", currency="USD")])

    assert report.lines[0].category == Category.AMOUNT_DIFFERS
