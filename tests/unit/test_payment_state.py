"""The payment state of an entry from its terms: the rules Basware is told by."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connector.mapping.payments import PaymentState, PaymentStateName, Term, describe, payment_state

GROSS = Decimal("121.00")


def _term(status: int, amount: str, paid_on: date | None = None, version: int = 1, ref: str | None = None) -> Term:
    return Term(f"t{version}", status, Decimal(amount), paid_on, "B", ref, version)


def test_an_open_term_is_unpaid_with_nothing_paid() -> None:
    state = payment_state([_term(20, "121.00")], GROSS)
    assert state.state == PaymentStateName.UNPAID and state.paid_total == Decimal("0.00")
    assert state.payment_date is None


def test_a_matched_part_and_an_open_rest_is_partly_paid() -> None:
    terms = [_term(50, "50.00", date(2026, 12, 1), 2, "P-1"), _term(20, "71.00", version=3)]
    state = payment_state(terms, GROSS)
    assert (state.state, state.paid_total, state.payment_date) == (
        PaymentStateName.PARTLY_PAID,
        Decimal("50.00"),
        date(2026, 12, 1),
    )
    assert state.number == "P-1"


def test_every_term_matched_is_paid_on_the_latest_payment() -> None:
    terms = [_term(50, "50.00", date(2026, 12, 1), 2, "P-1"), _term(50, "71.00", date(2026, 12, 3), 4, "P-2")]
    state = payment_state(terms, GROSS)
    assert state.state == PaymentStateName.PAID and state.paid_total == GROSS
    assert (state.payment_date, state.number) == (date(2026, 12, 3), "P-2")
    assert describe(state, "EUR", GROSS) == "paid EUR 121.00 on 2026-12-03"


def test_selected_and_processed_terms_are_not_paid_yet() -> None:
    assert payment_state([_term(30, "121.00"), _term(40, "0.00", version=2)], GROSS).state == PaymentStateName.UNPAID


def test_the_basware_fields_are_the_full_set_even_when_empty() -> None:
    fields = payment_state([_term(20, "121.00")], GROSS).to_basware()
    assert set(fields) == {"paidTotal", "paymentDate", "paymentMethod", "paymentNumber"}
    paid = payment_state([_term(50, "121.00", date(2026, 12, 3))], GROSS).to_basware()
    assert paid["paymentDate"] == "2026-12-03T00:00:00Z" and paid["paidTotal"] == GROSS


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
terms_strategy = st.lists(
    st.tuples(st.sampled_from([20, 30, 40, 50]), amounts, st.dates(date(2020, 1, 1), date(2030, 1, 1))),
    max_size=8,
)


@given(terms_strategy, amounts)
def test_paid_total_never_exceeds_the_gross_nor_goes_below_zero(
    raw: list[tuple[int, Decimal, date]], gross: Decimal
) -> None:
    terms = [_term(status, str(amount), paid_on, n) for n, (status, amount, paid_on) in enumerate(raw)]
    state = payment_state(terms, gross)
    assert Decimal("0") <= state.paid_total <= gross


@given(terms_strategy)
def test_the_state_follows_the_matched_terms(raw: list[tuple[int, Decimal, date]]) -> None:
    terms = [_term(status, str(amount), paid_on, n) for n, (status, amount, paid_on) in enumerate(raw)]
    state = payment_state(terms)
    matched = [term for term in terms if term.status == 50]
    expected = (
        PaymentStateName.UNPAID
        if not matched
        else PaymentStateName.PAID
        if len(matched) == len(terms)
        else PaymentStateName.PARTLY_PAID
    )
    assert state.state == expected
    assert state.payment_date == (max(term.paid_on for term in matched) if matched else None)
    assert PaymentState.from_json(state.to_json()) == state
