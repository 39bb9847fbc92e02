"""VAT codes by type: the sandbox books a line's AmountFC as net (E) or gross (I), to the cent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.exact import seed
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(minute_limit=1000) as running:
        yield running


def _post(exact: Exact, *lines: dict[str, Any]) -> dict[str, Any]:
    gl = seed.seed_guid(DIVISION, "GLAccount", "4000")
    body = {
        "Journal": seed.PURCHASE_JOURNAL,
        "Supplier": seed.seed_guid(DIVISION, "Account", "1001"),
        "EntryDate": "2026-11-20",
        "YourRef": "VAT-1",
        "PurchaseEntryLines": [{"GLAccount": gl, **line} for line in lines],
    }
    created = exact.client.create_purchase_entry(body)
    return exact.client.get_purchase_entry(created["EntryID"])


def _booked(entry: dict[str, Any]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(net, VAT, gross) of every line as the API answers them."""
    lines = entry["PurchaseEntryLines"]["results"]
    return [(ln["VATBaseAmountFC"], ln["VATAmountFC"], ln["VATBaseAmountFC"] + ln["VATAmountFC"]) for ln in lines]


def test_vat_codes_say_whether_they_include_vat(exact: Exact) -> None:
    types = {row["Code"]: row["Type"] for row in exact.client.vat_codes()}
    assert types["1"] == "E"
    assert types[seed.INCLUSIVE_VAT_CODE] == "I"


def test_an_excluding_code_reads_the_amount_as_net(exact: Exact) -> None:
    entry = _post(exact, {"AmountFC": Decimal("10.00"), "VATCode": "1"})
    assert _booked(entry) == [(Decimal("10.00"), Decimal("2.10"), Decimal("12.10"))]
    assert entry["AmountFC"] == Decimal("12.10")


def test_an_including_code_reads_the_amount_as_gross(exact: Exact) -> None:
    entry = _post(exact, {"AmountFC": Decimal("10.00"), "VATCode": seed.INCLUSIVE_VAT_CODE})
    assert _booked(entry) == [(Decimal("8.26"), Decimal("1.74"), Decimal("10.00"))]
    assert entry["AmountFC"] == Decimal("10.00")
    assert entry["VATAmountFC"] == Decimal("1.74")


def test_an_explicit_vat_amount_is_honoured_for_both_types(exact: Exact) -> None:
    entry = _post(
        exact,
        {"AmountFC": Decimal("10.00"), "VATCode": seed.INCLUSIVE_VAT_CODE, "VATAmountFC": Decimal("1.73")},
        {"AmountFC": Decimal("10.00"), "VATCode": "1", "VATAmountFC": Decimal("2.11")},
    )
    assert _booked(entry) == [
        (Decimal("8.27"), Decimal("1.73"), Decimal("10.00")),
        (Decimal("10.00"), Decimal("2.11"), Decimal("12.11")),
    ]
    assert entry["AmountFC"] == Decimal("22.11")  # the header is the sum of the gross amounts
    stored = exact.sandbox.purchase_entries(DIVISION)[0]["PurchaseEntryLines"]
    assert [line["GrossAmountFC"] for line in stored] == [Decimal("10.00"), Decimal("12.11")]
