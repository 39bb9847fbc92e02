"""Exact money in JSON, and no text that can pass itself off as a number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector import jsonutil


def test_decimals_keep_their_digits() -> None:
    assert jsonutil.dumps({"amount": Decimal("121.00"), "vat": Decimal("-0.10")}) == '{"amount":121.00,"vat":-0.10}'


def test_text_that_looks_like_the_internal_decimal_marker_stays_text() -> None:
    forged = {"description": "\u0000dec:12", "amount": Decimal("1.50")}

    assert jsonutil.loads(jsonutil.dumps(forged)) == forged


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    assert jsonutil.loads(jsonutil.dumps({"t": text, "n": Decimal("3.14")})) == {"t": text, "n": Decimal("3.14")}


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_non_finite_amount_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="not a finite amount"):
        jsonutil.dumps({"amount": value})
