"""Exact's call budget per division as operators see it: calls left this minute and today, the backlog, and
when that backlog will be through at the current limit (`ml-connector status`, the dashboard overview)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.exact.governor import BudgetView, Governor, through_at
from connector.store import records
from connector.store.tenants import Tenant, list_tenants
from connector.sync.services import Services
from connector.views import when

HEADERS = ["division", "tenants", "calls left this minute", "calls left today", "backlog", "through by"]


@dataclass(frozen=True)
class DivisionBudget:
    """One Exact app's budget in one division, and the records of its tenants that still wait to be written."""

    division: int
    tenants: tuple[str, ...]
    budget: BudgetView
    backlog: int  # pending records; each takes about one call when the budget is spent on writes
    through_at: float | None  # None: nothing waits

    def row(self) -> tuple[str, ...]:
        """The figures as text, in the order of `HEADERS`."""
        view = self.budget
        minute = f"{view.minute_left} of {view.minute_limit}"
        if view.closed_until is not None:
            minute = f"0 (Exact answered 429; until {when(view.closed_until)})"
        return (
            str(self.division),
            ", ".join(self.tenants),
            minute,
            f"{view.day_left} of {view.day_limit}",
            str(self.backlog),
            when(self.through_at) if self.through_at is not None else "-",
        )


def budget_report(svc: Services, now: float | None = None) -> list[DivisionBudget]:
    """Every (Exact app, division) that a tenant writes to, with its budget and backlog."""
    now = time.time() if now is None else now
    groups: dict[str, tuple[Governor, int, list[Tenant]]] = {}
    for tenant in list_tenants(svc.db):
        if tenant.exact_division is None:
            continue
        governor = svc.governor(tenant, clock=lambda: now)
        entry = groups.setdefault(governor.key(tenant.exact_division), (governor, tenant.exact_division, []))
        entry[2].append(tenant)
    return [_division_budget(svc, *entry, now) for entry in groups.values()]


def _division_budget(
    svc: Services, governor: Governor, division: int, tenants: list[Tenant], now: float
) -> DivisionBudget:
    backlog = sum(records.count_by_status(svc.db, tenant.id).get("pending", 0) for tenant in tenants)
    view = governor.view(division)
    return DivisionBudget(division, tuple(t.name for t in tenants), view, backlog, through_at(backlog, view, now))
