"""Money checks before anything is written: every line and every total must agree with Basware to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connector.domain import Invoice


def total_problems(invoice: Invoice) -> list[dict[str, Any]]:
    """Every disagreement between lines and totals, with the figures; empty when the invoice adds up."""
    problems: list[dict[str, Any]] = []
    for row in invoice.rows:
        if row.gross is not None and row.net + row.tax != row.gross:
            problems.append(
                _problem(
                    row.row_index,
                    f"line net {row.net} + VAT {row.tax} = {row.net + row.tax}, but the line gross is {row.gross}",
                )
            )
    net = sum((row.net for row in invoice.rows), Decimal("0"))
    tax = sum((row.tax for row in invoice.rows), Decimal("0"))
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


def _problem(row: int | None, text: str) -> dict[str, Any]:
    return {"row": row, "field": "amounts", "problem": text}
