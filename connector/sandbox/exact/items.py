"""Items (`logistics/Items`) in the Exact sandbox: the articles purchase order lines refer to.

Sourced (docs/api-facts.md, Exact: items): the regular Items endpoint has mandatory filtering, a purchase order
line needs an `Item`. Decision (ours): the accepted filter fields are `ITEM_FILTER_FIELDS` (the real list is
longer); every seeded division has the items in `SEED_ITEMS`, one of them sold only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.seed import seed_guid
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.wire import NOT_ALLOWED, ApiFailure, Call, EntitySet

ITEMS = "logistics/Items"
DEFAULT_ITEM = "MISC"
# code -> (description, is a purchase item, standard cost price)
SEED_ITEMS: dict[str, tuple[str, bool, Decimal]] = {
    DEFAULT_ITEM: ("Miscellaneous purchases", True, Decimal("0")),
    "PAPER-A4": ("Copy paper A4, 500 sheets", True, Decimal("4.10")),
    "TONER-X1": ("Toner cartridge X1", True, Decimal("61.00")),
    "CHAIR-ERG": ("Ergonomic office chair", True, Decimal("310.00")),
    "GIFTCARD": ("Gift card (sold, never bought)", False, Decimal("0")),
}
SALES_ONLY_ITEM = "GIFTCARD"
ITEM_FILTER_FIELDS = ("Barcode", "Code", "Description", "ID", "Modified")
ITEM_FIELDS = ("ID", "Code", "Description", "IsPurchaseItem", "IsSalesItem", "IsStockItem", "Unit",
               "CostPriceStandard", "Division", "Modified")  # fmt: skip
ITEM_SET = EntitySet(ITEMS, "ID", "Item", ITEM_FIELDS, ITEM_FILTER_FIELDS)


def seed_items(division: int, now: datetime) -> list[dict[str, Any]]:
    """The items a seeded division starts with."""
    return [item_row(division, code, now, *spec) for code, spec in SEED_ITEMS.items()]


def item_row(division: int, code: str, now: datetime, description: str, purchase: bool, cost: Decimal) -> dict:
    """One item row with its stable seed GUID."""
    return {
        "ID": seed_guid(division, "Item", code),
        "Code": code,
        "Description": description,
        "IsPurchaseItem": purchase,
        "IsSalesItem": not purchase,
        "IsStockItem": False,
        "Unit": "pc",
        "CostPriceStandard": cost,
        "Division": division,
        "Modified": now,
    }


class Items:
    """GET on `logistics/Items`, which demands a filter when listing."""

    sets: tuple[EntitySet, ...] = (ITEM_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer a GET; anything else is not allowed."""
        if call.method != "GET":
            raise ApiFailure(405, NOT_ALLOWED)
        return query.read(division.number, ITEM_SET, division.tables[ITEMS], call.key, page_size=self.state.page_size)
