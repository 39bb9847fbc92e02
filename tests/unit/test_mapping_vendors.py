"""Vendor matching rules: how Basware suppliers are compared with Exact suppliers, and created."""

from __future__ import annotations

from typing import Any

import pytest

from connector.domain import Vendor
from connector.mapping import vendors

SUPPLIERS: list[dict[str, Any]] = [
    {"ID": "a", "Code": "              1001", "Name": "Acme Supplies BV", "VATNumber": "NL001234567B01"},
    {"ID": "b", "Code": "              1002", "Name": "Globex  Office Supplies ", "VATNumber": "nl 0098.76.543.b01"},
    {"ID": "c", "Code": "              1003", "Name": "Initech Logistics", "VATNumber": None},
    {"ID": "d", "Code": "              1004", "Name": "INITECH logistics", "VATNumber": ""},
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("  Acme   Supplies\tBV ", "acme supplies bv"), ("STRASSE", "strasse"), ("Straße", "strasse"), (None, "")],
)
def test_names_compare_trimmed_single_spaced_and_case_folded(name: str | None, expected: str) -> None:
    assert vendors.normalise_name(name) == expected


@pytest.mark.parametrize(
    ("vat", "expected"),
    [("NL 0012.34.567-B01", "NL001234567B01"), ("nl001234567b01", "NL001234567B01"), (None, ""), ("  ", "")],
)
def test_vat_numbers_compare_without_formatting(vat: str | None, expected: str) -> None:
    assert vendors.normalise_vat(vat) == expected


@pytest.mark.parametrize(
    ("vat", "ids"),
    [("NL001234567B01", ["a"]), ("NL 009876543 B01", ["b"]), ("NL000000000B01", []), (None, []), ("", [])],
)
def test_by_vat_ignores_formatting_on_both_sides(vat: str | None, ids: list[str]) -> None:
    assert [s["ID"] for s in vendors.by_vat(SUPPLIERS, vat)] == ids


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("acme supplies bv", ["a"]),
        ("Globex Office Supplies", ["b"]),
        ("Initech Logistics", ["c", "d"]),  # two candidates: the caller blocks as ambiguous
        ("Acme", []),
        ("   ", []),
    ],
)
def test_by_name_finds_exact_names_after_trimming_and_case_folding(name: str, ids: list[str]) -> None:
    assert [s["ID"] for s in vendors.by_name(SUPPLIERS, name)] == ids


def test_by_code_compares_trimmed_codes() -> None:
    assert [s["ID"] for s in vendors.by_code(SUPPLIERS, "1002 ")] == ["b"]


def test_candidates_are_described_by_code_and_name() -> None:
    assert vendors.describe(SUPPLIERS[2:]) == ["1003 Initech Logistics", "1004 INITECH logistics"]


def test_a_new_supplier_carries_everything_basware_knows_that_an_account_holds() -> None:
    vendor = Vendor(
        code=" V-77 ",
        name=" Umbrella Corp ",
        vat_number="NL111111111B01",
        email="ap@umbrella.example",
        street="Main Street 1",
        postcode="1234 AB",
        city="Utrecht",
        country="nl",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
    )

    assert vendors.account_fields(vendor) == {
        "Name": "Umbrella Corp",
        "Code": "V-77",
        "IsSupplier": True,
        "Status": "A",
        "VATNumber": "NL111111111B01",
        "Email": "ap@umbrella.example",
        "AddressLine1": "Main Street 1",
        "Postcode": "1234 AB",
        "City": "Utrecht",
        "Country": "NL",
    }


def test_a_code_too_long_for_exact_is_left_for_exact_to_number() -> None:
    fields = vendors.account_fields(Vendor(code="X" * 19, name="Long Code Ltd"))

    assert "Code" not in fields and fields["Name"] == "Long Code Ltd"


@pytest.mark.parametrize(
    ("how", "origin", "text"),
    [
        ("vat", None, "VAT number"),
        ("name", None, "name"),
        ("created", None, "creation in Exact"),
        ("mapping", "manual", "the vendor mapping (set by an operator)"),
        ("mapping", "vat", "the vendor mapping (remembered from a match by VAT number)"),
        ("mapping", "created", "the vendor mapping (remembered from creating the supplier in Exact)"),
    ],
)
def test_the_audit_says_how_a_supplier_was_found(how: str, origin: str | None, text: str) -> None:
    assert vendors.how_text(how, origin) == text
