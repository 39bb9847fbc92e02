"""Exact's OData dialect: literals, dates, envelopes, errors and padded codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connector.exact import odata


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("/Date(1382667872203)/", datetime(2013, 10, 25, 2, 24, 32, 203000, tzinfo=UTC)),
        ("/Date(1351209600000)/", datetime(2012, 10, 26, tzinfo=UTC)),  # a date-only field: midnight UTC
        ("/Date(0)/", datetime(1970, 1, 1, tzinfo=UTC)),
        ("/Date(-86400000)/", datetime(1969, 12, 31, tzinfo=UTC)),
        ("/Date(1351209600000+0100)/", datetime(2012, 10, 26, tzinfo=UTC)),
    ],
)
def test_parse_date(wire: str, expected: datetime) -> None:
    assert odata.parse_date(wire) == expected


@pytest.mark.parametrize("bad", ["2013-10-25", "/Date()/", "Date(1)", "/Date(abc)/"])
def test_parse_date_refuses_other_forms(bad: str) -> None:
    with pytest.raises(ValueError):
        odata.parse_date(bad)


def test_parse_date_keeps_none() -> None:
    assert odata.parse_date(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, 23, 30, tzinfo=UTC), "2024-05-01"),
        (datetime(2024, 5, 2, 0, 30, tzinfo=timezone(timedelta(hours=2))), "2024-05-01"),
    ],
)
def test_format_date(value: date, expected: str) -> None:
    assert odata.format_date(value) == expected


def test_guid_literal_normalises_and_refuses_injection() -> None:
    value = "8E2A4A5B-1C2D-4E5F-8A9B-0C1D2E3F4A5B"
    assert odata.guid(value) == "guid'8e2a4a5b-1c2d-4e5f-8a9b-0c1d2e3f4a5b'"
    with pytest.raises(ValueError):
        odata.guid("x' or 1 eq 1 or ID eq guid'")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("INV-1", "'INV-1'"), ("O'Neil", "'O''Neil'"), ("''", "''''''"), ("", "''")],
)
def test_string_literal_doubles_quotes(value: str, expected: str) -> None:
    assert odata.string(value) == expected


@pytest.mark.parametrize(
    ("code", "expected"), [("8", " " * 17 + "8"), (1001, " " * 14 + "1001"), (" 42 ", " " * 16 + "42")]
)
def test_pad_account_code(code: str | int, expected: str) -> None:
    assert odata.pad_account_code(code) == expected
    assert len(expected) == 18


def test_pad_account_code_refuses_long_codes() -> None:
    with pytest.raises(ValueError):
        odata.pad_account_code("1" * 19)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"d": {"results": [{"ID": 1}], "__next": "x"}}, [{"ID": 1}]),
        ({"d": {"ID": 1, "__metadata": {}}}, {"ID": 1, "__metadata": {}}),
        ({"d": [{"ID": 1}]}, [{"ID": 1}]),
        ({"d": {"results": []}}, []),
    ],
)
def test_unwrap(payload: dict, expected: object) -> None:
    assert odata.unwrap(payload) == expected


@pytest.mark.parametrize("payload", [None, [], {"error": {}}, {"d": "text"}])
def test_unwrap_refuses_non_odata(payload: object) -> None:
    with pytest.raises(ValueError):
        odata.unwrap(payload)


def test_next_link() -> None:
    url = "https://start.exactonline.nl/api/v1/1/financial/GLAccounts?$skiptoken=guid'a'"
    assert odata.next_link({"d": {"results": [], "__next": url}}) == url
    assert odata.next_link({"d": {"results": []}}) is None
    assert odata.next_link({"d": [1]}) is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"error": {"code": "", "message": {"lang": "", "value": "Mandatory: Diary"}}}, "Mandatory: Diary"),
        ({"error": {"message": "plain"}}, "plain"),
        ({"error": "invalid_grant"}, ""),
        ({"d": {}}, ""),
        (None, ""),
    ],
)
def test_error_message(payload: object, expected: str) -> None:
    assert odata.error_message(payload) == expected


def test_trim_codes_strips_padding_including_expanded_lines() -> None:
    row = {
        "Code": "              1001",
        "Country": "NL ",
        "Name": "Acme  ",
        "Lines": {"results": [{"VATCode": "1  "}]},
    }
    assert odata.trim_codes(row) == {
        "Code": "1001",
        "Country": "NL",
        "Name": "Acme  ",  # not a fixed-width code: untouched
        "Lines": {"results": [{"VATCode": "1"}]},
    }
    assert row["Code"] == "              1001"  # the raw record is left as it was
