"""Records, problems, grants and mappings shaped for people: plain words, no jargon. Pure functions.

Shared by the dashboard and, where the wording is the same, the CLI; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.mapping.problems import Problem
from connector.mapping.table import value_problem
from connector.mapping.vendors import ORIGINS
from connector.store.mappings import MAPPING_KINDS
from connector.store.records import STATUSES, Record
from connector.sync.reminders import DAY, REFRESH_TOKEN_LIFETIME

REPLAYABLE = ("blocked", "failed", "waiting_for_reauth")
# Needing a person comes first; within a status the newest first (see `attention_first`).
ATTENTION_ORDER = ("blocked", "failed", "waiting_for_reauth", "waiting_for_budget", "pending", "written")

STATUS_LABELS = {
    "pending": "in progress",
    "written": "posted to Exact",
    "blocked": "needs a fix",
    "waiting_for_reauth": "waiting for Exact sign-in",
    "waiting_for_budget": "waiting for Exact's limit",
    "failed": "failed",
}
KIND_LABELS = {"invoice": "invoice", "purchase_order": "purchase order"}
FIELD_LABELS = {
    "vendor": "supplier",
    "gl_account": "GL account",
    "cost_center": "cost center",
    "cost_unit": "cost unit",
    "vat_code": "VAT code",
    "journal": "journal",
    "item": "item",
    "currency": "currency",
    "amounts": "amounts",
    "update": "change in Basware",
    "exact": "Exact Online",
    "basware": "Basware",
}

# Where a mapping came from; the vendor rules' words, plus the vendor sync's own origin.
ORIGIN_LABELS = {**ORIGINS, "sync": "remembered from the supplier sync"}


def when(epoch: float | None) -> str:
    """A stored time as UTC text, or '-' when there is none."""
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_label(status: str) -> str:
    """A record status in words a bookkeeper uses."""
    return STATUS_LABELS.get(status, status.replace("_", " "))


def field_label(field: str | None) -> str:
    """A problem's field (a mapping kind, mostly) in words."""
    if not field:
        return ""
    return FIELD_LABELS.get(field, field.replace("_", " "))


def is_replayable(status: str) -> bool:
    """True when a person may send the record through again."""
    return status in REPLAYABLE


def problem_text(problem: dict[str, Any], *, plain: bool = False, whole: str = "whole document") -> str:
    """One blocking problem as an accountant reads it: where, which code, what is wrong, what exists instead.

    `plain` names the field in words ("GL account"); without it, as the CLI prints it ("gl_account").
    `whole` is what a problem of the whole document is said to be about (say, "purchase order").
    """
    return Problem.from_dict(problem).detailed(whole=whole, label=field_label if plain else str)


def summary(record: Record, width: int = 90, *, plain: bool = False) -> str:
    """How many problems a blocked record has and the first of them; else the reason."""
    if record.problems:
        count = len(record.problems)
        whole = KIND_LABELS.get(record.kind, record.kind)
        first = problem_text(record.problems[0], plain=plain, whole=whole)
        text = (f"{count} problems, first " if count > 1 else "") + first
    else:
        text = record.reason or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def problem_row(problem: dict[str, Any]) -> dict[str, Any]:
    """One problem as a table row; `fix_kind` names the mapping that would fix it, when one would."""
    found = Problem.from_dict(problem)
    return {
        "where": found.where(),
        "field": field_label(found.field),
        "basware_code": found.basware_code or "",
        "mapped_code": found.mapped_code or "",
        "problem": found.text,
        "suggestions": list(found.suggestions),
        "fix_kind": found.field if found.field in MAPPING_KINDS and found.basware_code else None,
    }


def attention_first(found: Iterable[tuple[Record, str]]) -> list[tuple[Record, str]]:
    """Records needing a person first (blocked, failed, waiting), then in progress, then posted; newest first."""
    rank = {status: index for index, status in enumerate(ATTENTION_ORDER)}
    return sorted(found, key=lambda pair: (rank.get(pair[0].status, len(rank)), -pair[0].id))


def days_left(refreshed_at: float | None, now: float) -> int | None:
    """Whole days before Exact's 30-day refresh window closes (negative once closed); None without a grant."""
    if refreshed_at is None:
        return None
    return int((refreshed_at + REFRESH_TOKEN_LIFETIME - now) // DAY)


def grant_text(grant_status: str, grant_reason: str | None) -> str:
    """The Exact connection in words: connected, disconnected and why, or never connected."""
    if grant_status == "active":
        return "connected"
    if grant_status == "dead":
        return f"disconnected: {grant_reason or 'no reason given'}"
    return "not connected yet"


def mapping_problem(kind: str, source: str, target: str) -> str | None:
    """What is wrong with one mapping typed into a form (the rules of a mapping CSV line), or None."""
    return value_problem(kind, source.strip(), target.strip(), MAPPING_KINDS)


def status_counts(counts: dict[str, int], statuses: Sequence[str] = STATUSES) -> list[tuple[str, str, int]]:
    """(status, label, count) for every status, zeros included, in attention order."""
    ordered = sorted(statuses, key=lambda s: ATTENTION_ORDER.index(s) if s in ATTENTION_ORDER else len(statuses))
    return [(status, status_label(status), counts.get(status, 0)) for status in ordered]
