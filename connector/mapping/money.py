"""Money checks before anything is written: every line and every total must agree with Basware to the cent.

Amounts stay `Decimal` from the JSON parse to the Exact payload; nothing here rounds. An amount Exact could
not keep as it is (more than two decimals) blocks instead of being rounded, so what is written is what
Basware approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from connector.domain import CENT, CodingRow, Invoice
from connector.mapping.problems import Problem, problem

ZERO = Decimal("0")


# How Exact reads a line's AmountFC by the type of its VAT code (docs/api-facts.md#exact-vat-codes):
# excluding (E) and none (N) as the net amount, including (I) as the gross.
AMOUNT_IS_NET = frozenset({"E", "N"})
AMOUNT_IS_GROSS = frozenset({"I"})


def entry_amounts(row: CodingRow, vat_type: str = "E") -> dict[str, Decimal]:
    """A coding row's amounts as Exact purchase entry line fields (FC: the invoice currency).

    AmountFC is what the VAT code's type makes Exact read as Basware's net (E) or gross (I); the VAT is always
    sent explicitly, so Exact books Basware's figure rather than recomputing one a cent off.
    """
    amount = row.net + row.tax if vat_type in AMOUNT_IS_GROSS else row.net
    return {"AmountFC": amount, "VATAmountFC": row.tax}


def vat_type_problem(row: CodingRow, code: str, vat_type: str) -> Problem | None:
    """A VAT code whose type we cannot book to the cent blocks the row, saying why and what to use."""
    if vat_type in AMOUNT_IS_NET | AMOUNT_IS_GROSS:
        return None
    text = (
        f"VAT code {code} has type {vat_type or '(none)'} in Exact; the connector books lines only with "
        "excluding (E) or including (I) codes, so that Exact keeps Basware's amounts to the cent: map another code"
    )
    return problem(row.row_index, "vat_code", row.tax_code, code, text, [])


def line_totals(lines: Iterable[Mapping[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of purchase entry lines, as Exact will add them up."""
    net = sum((Decimal(line["AmountFC"]) for line in lines if "AmountFC" in line), ZERO)
    vat = sum((Decimal(line.get("VATAmountFC") or ZERO) for line in lines), ZERO)
    return net, vat, net + vat


def has_cents_only(amount: Decimal) -> bool:
    """True when the amount has no digits below the cent (10.5, 10.50 and 10.500 do; 10.005 does not)."""
    return amount == amount.quantize(CENT)


def total_problems(invoice: Invoice) -> list[Problem]:
    """Every disagreement between lines and totals, with the figures; empty when the invoice adds up."""
    problems: list[Problem] = []
    for row in invoice.rows:
        problems.extend(_row_problems(row))
    net = sum((row.net for row in invoice.rows), ZERO)
    tax = sum((row.tax for row in invoice.rows), ZERO)
    if net != invoice.net_sum:
        problems.append(
            _problem(None, f"the lines' net amounts add up to {net}, the invoice net total is {invoice.net_sum}")
        )
    if tax != invoice.tax_sum:
        problems.append(
            _problem(None, f"the lines' VAT amounts add up to {tax}, the invoice VAT total is {invoice.tax_sum}")
        )
    if invoice.net_sum + invoice.tax_sum != invoice.gross_sum:
        problems.append(
            _problem(
                None,
                f"net {invoice.net_sum} + VAT {invoice.tax_sum} = {invoice.net_sum + invoice.tax_sum}, "
                f"but the invoice gross total is {invoice.gross_sum}",
            )
        )
    if not invoice.rows:
        problems.append(_problem(None, "the invoice has no coding rows to post"))
    return problems


def _row_problems(row: CodingRow) -> list[Problem]:
    problems = []
    if row.gross is not None and row.net + row.tax != row.gross:
        problems.append(
            _problem(
                row.row_index,
                f"line net {row.net} + VAT {row.tax} = {row.net + row.tax}, but the line gross is {row.gross}",
            )
        )
    for label, amount in (("net", row.net), ("VAT", row.tax)):
        if not has_cents_only(amount):
            problems.append(
                _problem(row.row_index, f"line {label} {amount} has more than two decimals; Exact keeps cents only")
            )
    return problems


def _problem(row: int | None, text: str) -> Problem:
    return problem(row, "amounts", None, None, text)
