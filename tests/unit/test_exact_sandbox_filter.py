"""The sandbox's OData $filter: the subset of syntax Exact clients send."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connector.sandbox.exact import FilterParser, QueryError

ROWS = [
    {"ID": "8e2a4a5b-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "Code": "              1001", "Name": "O'Brien",
     "IsSupplier": True, "Amount": Decimal("10.50"), "Modified": datetime(2024, 1, 2, tzinfo=UTC)},
    {"ID": "11111111-2222-3333-4444-555555555555", "Code": "              1002", "Name": "Globex",
     "IsSupplier": False, "Amount": Decimal("3"), "Modified": datetime(2023, 6, 1, tzinfo=UTC)},
]  # fmt: skip
FIELDS = set(ROWS[0])


def names(text: str) -> list[str]:
    predicate = FilterParser(text, FIELDS).parse()
    return [row["Name"] for row in ROWS if predicate(row)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ID eq guid'8E2A4A5B-1C2D-4E5F-8A9B-0C1D2E3F4A5B'", ["O'Brien"]),
        ("Name eq 'O''Brien'", ["O'Brien"]),
        ("Name eq 'globex'", ["Globex"]),  # case-insensitive, like SQL Server
        ("Code eq '1001'", []),  # Exact needs the padding
        ("trim(Code) eq '1001'", ["O'Brien"]),
        ("IsSupplier eq true", ["O'Brien"]),
        ("IsSupplier ne true", ["Globex"]),
        ("Amount gt 5", ["O'Brien"]),
        ("Amount le 3.00", ["Globex"]),
        ("Modified ge datetime'2024-01-01'", ["O'Brien"]),
        ("Modified lt datetime'2024-01-01T00:00:00'", ["Globex"]),
        ("Name eq 'Globex' or IsSupplier eq true", ["O'Brien", "Globex"]),
        ("(Name eq 'Globex' or IsSupplier eq true) and Amount lt 4", ["Globex"]),
        ("not (IsSupplier eq true)", ["Globex"]),
        ("substringof('bri', Name)", ["O'Brien"]),
        ("substringof('lob', Name) eq true", ["Globex"]),
        ("startswith(Name, 'Glo')", ["Globex"]),
        ("Timestamp gt 1L".replace("Timestamp", "Amount"), ["O'Brien", "Globex"]),
    ],
)
def test_filters(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Name eq 'unterminated",
        "Name equals 'x'",
        "Unknown eq 1",
        "Name eq",
        "(Name eq 'x'",
        "ID eq guid'not-a-guid'",
        "Modified gt datetime'yesterday'",
        "frobnicate(Name) eq 'x'",
        "Name eq 'x' ;",
    ],
)
def test_bad_syntax_is_refused(text: str) -> None:
    with pytest.raises(QueryError, match="Error in query syntax"):
        FilterParser(text, FIELDS).parse()


def test_referenced_fields_are_reported() -> None:
    parser = FilterParser("trim(Code) eq '1' and IsSupplier eq true", FIELDS)
    parser.parse()
    assert parser.referenced == {"Code", "IsSupplier"}
