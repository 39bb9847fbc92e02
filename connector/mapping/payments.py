"""Payment state of one purchase entry, from its payable terms in Exact: pure rules over values.

An entry has one payable term when created; a partial payment splits it into a matched part and an open
remainder (docs/api-facts.md#exact-payments). So: no matched term is `unpaid`, every term matched (`Status` 50) is
`paid`, anything between is `partly_paid`. The paid total is the sum of the matched terms, never above the gross
(a rounding difference in Exact must not tell Basware more was paid than the invoice says). The payment date is
the latest `LastPaymentDate` (else `EndDate`) of the matched terms; method and number are the latest payment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

MATCHED = 50
PAYABLE = 22
ZERO = Decimal("0.00")


class PaymentStateName(StrEnum):
    """The three states a record's payment can be in; the values are what JSON and the database hold."""

    UNPAID = "unpaid"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"


@dataclass(frozen=True)
class Term:
    """One payable term as Exact showed it last."""

    term_id: str
    status: int
    amount: Decimal
    paid_on: date | None = None
    method: str | None = None
    reference: str | None = None
    row_version: int = 0

    @property
    def is_matched(self) -> bool:
        """True when a payment is matched to the term (Status 50)."""
        return self.status == MATCHED


@dataclass(frozen=True)
class PaymentState:
    """What Basware is told: the state, the cumulative paid total, and the latest payment's date, method, number."""

    state: PaymentStateName
    paid_total: Decimal = ZERO
    payment_date: date | None = None
    method: str | None = None
    number: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A plain dict for storage and `records list --json`."""
        return {
            "state": str(self.state),
            "paid_total": str(self.paid_total),
            "payment_date": self.payment_date.isoformat() if self.payment_date else None,
            "method": self.method,
            "number": self.number,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PaymentState:
        """The inverse of `to_json`."""
        paid_on = data.get("payment_date")
        return cls(
            PaymentStateName(data["state"]),
            Decimal(data["paid_total"]),
            date.fromisoformat(paid_on) if paid_on else None,
            data.get("method"),
            data.get("number"),
        )

    def to_basware(self) -> dict[str, Any]:
        """The payment fields of a Basware paymentResponse (the full set: fields left out are cleared)."""
        return {
            "paidTotal": self.paid_total,
            "paymentDate": f"{self.payment_date.isoformat()}T00:00:00Z" if self.payment_date else None,
            "paymentMethod": (self.method or None) and self.method[:25],
            "paymentNumber": (self.number or None) and self.number[:250],
        }


UNPAID = PaymentState(PaymentStateName.UNPAID)


def payment_state(terms: list[Term], gross: Decimal | None = None) -> PaymentState:
    """The payment state of an entry from its terms (all of them that Exact showed since we wrote it)."""
    matched = [term for term in terms if term.is_matched]
    if not matched:
        return UNPAID
    paid = sum((term.amount for term in matched), ZERO)
    if gross is not None:
        paid = min(paid, abs(gross))
    latest = max(matched, key=lambda term: (term.paid_on or date.min, term.row_version))
    name = PaymentStateName.PAID if len(matched) == len(terms) else PaymentStateName.PARTLY_PAID
    return PaymentState(name, paid, latest.paid_on, latest.method, latest.reference)


def describe(state: PaymentState, currency: str | None, gross: Decimal | None) -> str:
    """The state in words for the audit trail, e.g. `paid EUR 121.00 on 2026-12-03`."""
    money = f"{currency or ''} {state.paid_total}".strip()
    on = f" on {state.payment_date.isoformat()}" if state.payment_date else ""
    if state.state == PaymentStateName.PAID:
        return f"paid {money}{on}"
    if state.state == PaymentStateName.PARTLY_PAID:
        of = f" of {gross}" if gross is not None else ""
        return f"partly paid {money}{of}{on}"
    return "unpaid (a payment match was undone in Exact)"
