"""Map every purchase order line to an Exact item, cost center and cost unit, and check the amounts. Pure.

The items the lines can map to, the division's master data and the tenant's mapping table come in as values.
Cost centers and cost units follow the one dimension rule of `mapping.dimensions`, as for invoices.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connector.basware.orders import line_total
from connector.domain_orders import OrderLine, PurchaseOrder
from connector.mapping.dimensions import DIMENSION_FIELDS, Mapping, MasterData, dimension
from connector.mapping.problems import Problem, problem

Items = dict[str, dict[str, Any]]  # Exact items by trimmed code


def item_code(line: OrderLine, table: Mapping, default_item: str | None) -> tuple[str | None, str]:
    """The Exact item code for a line and how it was chosen: a mapping, the buyer's code, or the default."""
    for name, value in line.product_codes:
        mapped = table.get(("item", value))
        if mapped:
            return mapped.strip(), f"item mapping of {name} {value}"
    if line.buyer_product_code:  # the buyer's own product code is usually the ERP item code
        return line.buyer_product_code.strip(), "buyerProductCode"
    if line.is_free_text or not line.product_codes:
        return (default_item.strip(), "the tenant's default item") if default_item else (None, "")
    return None, ""


def wanted_items(order: PurchaseOrder, table: Mapping, default_item: str | None) -> set[str]:
    """The item codes the order's lines map to: what one look-up in Exact must find."""
    return {code for line in order.lines if (code := item_code(line, table, default_item)[0]) is not None}


def plan_lines(
    order: PurchaseOrder, items: Items, master: MasterData, table: Mapping, default_item: str | None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Exact purchase order lines for the order, and every problem found on the way (empty when clean)."""
    problems: list[Problem] = []
    lines = [_plan_line(line, order, items, master, table, default_item, problems) for line in order.lines]
    return lines, problems


def _plan_line(
    line: OrderLine,
    order: PurchaseOrder,
    items: Items,
    master: MasterData,
    table: Mapping,
    default_item: str | None,
    problems: list[Problem],
) -> dict[str, Any]:
    planned: dict[str, Any] = {
        "QuantityInPurchaseUnits": line.quantity,
        "NetPrice": line.unit_price,
        "Description": (line.description or f"Line {line.line_number}")[:100],
    }
    if order.desired_delivery_date is not None:
        planned["ReceiptDate"] = order.desired_delivery_date.isoformat()
    item = _item(line, items, table, default_item, master.division, problems)
    if item is not None:
        planned["Item"] = str(item["ID"])
    when = (order.order_date or date.today(), "order date")
    for kind, codes in (
        ("cost_center", {c.cost_center_code for c in line.coding} - {None}),
        ("cost_unit", {c.cost_unit_code for c in line.coding} - {None}),
    ):
        code = _one_dimension(line.line_number, kind, codes, when, master, table, problems)
        if code is not None:
            planned[DIMENSION_FIELDS[kind]] = code
    return planned


def _item(
    line: OrderLine, items: Items, table: Mapping, default_item: str | None, division: int, problems: list[Problem]
) -> dict[str, Any] | None:
    code, how = item_code(line, table, default_item)
    source = ", ".join(f"{name} {value}" for name, value in line.product_codes) or None
    if code is None:
        text = (
            "free-text line and the tenant has no default item; set one (ml-connector tenant set NAME "
            "--default-item CODE) or add an item mapping"
            if line.is_free_text or not line.product_codes
            else f"no Exact item for {source}; add an item mapping"
        )
        problems.append(problem(line.line_number, "item", source, None, text))
        return None
    found = items.get(code)
    if found is None:
        text = f"item {code} (from {how}) does not exist in Exact division {division}"
        problems.append(problem(line.line_number, "item", source, code, text))
        return None
    if not found.get("IsPurchaseItem"):
        problems.append(problem(line.line_number, "item", source, code, f"item {code} is not a purchase item in Exact"))
        return None
    return found


def _one_dimension(
    row: int,
    kind: str,
    sources: set[str | None],
    when: tuple[date, str],
    master: MasterData,
    table: Mapping,
    problems: list[Problem],
) -> str | None:
    if not sources:
        return None
    if len(sources) > 1:  # an Exact order line carries one cost center, so a split cannot be kept
        names = ", ".join(sorted(str(s) for s in sources))
        label = kind.replace("_", " ")
        text = f"the line is split over {label}s {names}; an Exact purchase order line carries only one"
        problems.append(problem(row, kind, names, None, text))
        return None
    code, found = dimension(row, kind, str(next(iter(sources))), when, master, table)
    problems.extend(found)
    return code


def amount_problems(order: PurchaseOrder) -> list[Problem]:
    """Quantity x price must give each line's net sum, and the lines must add up to the order's net sum."""
    problems = []
    for line in order.lines:
        if line.net_sum is not None and line_total(line) != line.net_sum:
            text = (
                f"{line.quantity} x {line.unit_price} = {line_total(line)}, but Basware's net sum for the "
                f"line is {line.net_sum}"
            )
            problems.append(problem(line.line_number, "amounts", None, None, text))
    total = sum((line.net_sum if line.net_sum is not None else line_total(line) for line in order.lines), Decimal(0))
    if order.net_sum is not None and total != order.net_sum:
        text = f"the lines add up to {total}, but the order's net sum is {order.net_sum}"
        problems.append(problem(None, "amounts", None, None, text))
    return problems
