"""One supplier matcher for documents and the vendor sync: code, then VAT number, then name (a suggestion only),
each one query on fields Exact's mandatory filtering accepts, and several candidates block."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import RecordBlocked
from connector.sync import suppliers

ACME = {"ID": "id-acme", "Code": "1001", "Name": "Acme Supplies BV", "VATNumber": "NL123456789B01"}
TWIN = {"ID": "id-twin", "Code": "1002", "Name": "Acme Supplies BV", "VATNumber": "NL 1234.567.89 B01"}


class FakeExact:
    """Answers crm/Accounts filters from a script, by the field the filter starts with, and keeps them."""

    division = 100001

    def __init__(self, **answers: list[dict[str, Any]]) -> None:
        self.answers = answers
        self.filters: list[str] = []

    def find_accounts(self, filter: str) -> list[dict[str, Any]]:
        self.filters.append(filter)
        field = filter.lstrip("(").split(" ")[0]
        return self.answers.get(field, [])


def _match(exact: FakeExact, code: str = "V-1", vat: str | None = None, name: str | None = None) -> Any:
    return suppliers.match(exact, code, lambda: (vat, name))  # type: ignore[arg-type]


def test_the_code_is_asked_first_and_padded_like_exact_keeps_it() -> None:
    exact = FakeExact(Code=[ACME])

    assert _match(exact, "1001", vat="NL123456789B01", name="Acme") == (ACME, "code")
    assert exact.filters == [f"Code eq '{'1001':>18}' and IsSupplier eq true"]


def test_the_vat_number_is_asked_as_written_and_compact() -> None:
    exact = FakeExact(VATNumber=[ACME])

    assert _match(exact, vat="nl 123456789 b01") == (ACME, "vat")
    assert exact.filters[-1] == (
        "(VATNumber eq 'nl 123456789 b01' or VATNumber eq 'NL123456789B01') and IsSupplier eq true"
    )


def test_the_name_is_asked_with_name_eq_trimmed_and_single_spaced_never_with_a_function() -> None:
    exact = FakeExact(Name=[ACME])

    # One supplier with the name is only a suggestion (a name is no proof of identity), never a match.
    with pytest.raises(suppliers.SupplierSuggested) as caught:
        _match(exact, name="  ACME   Supplies BV ")
    assert caught.value.account == ACME and caught.value.suggestion == "1001 Acme Supplies BV"
    assert exact.filters[-1] == "Name eq 'ACME Supplies BV' and IsSupplier eq true"
    assert not any("trim(" in f or "tolower(" in f for f in exact.filters)


def test_nothing_found_is_none_and_a_code_too_long_for_exact_is_not_asked() -> None:
    exact = FakeExact()

    assert _match(exact, "X" * 19, vat=None, name="Nobody") is None
    assert [f.split(" ")[0] for f in exact.filters] == ["Name"]


@pytest.mark.parametrize(
    ("vat", "name", "rule"), [("NL123456789B01", None, "VAT number"), (None, "Acme Supplies BV", "name")]
)
def test_two_suppliers_found_by_one_rule_block_and_name_both(vat: str | None, name: str | None, rule: str) -> None:
    exact = FakeExact(VATNumber=[ACME, TWIN], Name=[ACME, TWIN])

    with pytest.raises(RecordBlocked) as raised:
        _match(exact, vat=vat, name=name)

    assert f"matches 2 Exact suppliers by {rule}" in str(raised.value)
    [problem] = raised.value.problems
    assert problem["field"] == "vendor" and problem["basware_code"] == "V-1"
    assert sorted(problem["suggestions"]) == ["1001 Acme Supplies BV", "1002 Acme Supplies BV"]
