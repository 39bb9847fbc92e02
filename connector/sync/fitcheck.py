"""The fit check: would the documents waiting in Basware post in Exact, as the pipeline would post them?

Read-only against both systems with the tenant's stored credentials. It lists the last N documents waiting
for transfer and the last N purchase orders waiting for export, downloads each (a GET: nothing is
acknowledged, no response is sent), resolves the supplier with `suppliers.resolve(read_only=True)` (nothing
created, nothing remembered) and plans the document with the pipeline's own `validation.plan_document`. No
record is made or changed; the only thing stored is the division's master data cache, which the pipeline
would fill the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.basware.client import BaswareClient
from connector.errors import FatalAPIError, ReauthRequired, RecordBlocked
from connector.mapping.problems import Problem
from connector.store.mappings import MAPPING_KINDS
from connector.store.records import Kind
from connector.store.tenants import Tenant
from connector.sync import suppliers
from connector.sync.documents import KINDS
from connector.sync.kinds import DocumentKind
from connector.sync.polling import waiting_documents
from connector.sync.services import Services
from connector.sync.validation import plan_document

DEFAULT_LAST = 50
BLOCKS = (FatalAPIError, RecordBlocked)  # what blocks a record in the pipeline blocks its verdict here
WOULD_POST, WOULD_BLOCK = "would_post", "would_block"
CAUSES = {
    "vendor": "vendor not in Exact",
    "gl_account": "unknown or unusable GL account",
    "cost_center": "unknown cost center",
    "cost_unit": "unknown cost unit",
    "vat_code": "missing or wrong VAT mapping",
    "journal": "journal not usable",
    "currency": "unknown currency",
    "item": "unknown item",
}


@dataclass(frozen=True)
class Verdict:
    """What the pipeline would do with one waiting document, and why."""

    basware_id: str
    kind: str
    reference: str = ""
    supplier: str = ""
    currency: str = ""
    gross: Decimal | None = None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def outcome(self) -> str:
        """`would_post` when nothing stands in the way, else `would_block`."""
        return WOULD_BLOCK if self.problems else WOULD_POST


def check_tenant(svc: Services, tenant: Tenant, last: int = DEFAULT_LAST) -> list[Verdict]:
    """A verdict for each of the last `last` waiting invoices and purchase orders."""
    basware = svc.basware(tenant)
    return [check_document(svc, tenant, KINDS[kind], basware_id) for kind, basware_id in latest(basware, last)]


def latest(basware: BaswareClient, last: int) -> Iterator[tuple[str, str]]:
    """(kind, Basware id) of the last `last` documents of each kind in Basware's list order."""
    kept: dict[str, deque[str]] = {Kind.INVOICE: deque(maxlen=last), Kind.PURCHASE_ORDER: deque(maxlen=last)}
    for kind, basware_id in waiting_documents(basware):
        kept[kind].append(basware_id)
    for kind, ids in kept.items():
        for basware_id in ids:
            yield kind, basware_id


def check_document(svc: Services, tenant: Tenant, kind: DocumentKind[Any], basware_id: str) -> Verdict:
    """Download, resolve the supplier and plan one document exactly as the steps would, writing nothing.

    What would block the document (a refusal by either system included) becomes its problems; a dead grant
    or an outage stops the whole check, since no verdict after it could be trusted.
    """
    verdict = Verdict(basware_id, kind.name)
    try:
        doc = kind.parse(kind.download(svc.basware(tenant), basware_id), tenant)
    except BLOCKS as exc:
        _unless_grant_dead(exc)
        return _with(verdict, _problems(exc, "document"))
    summary = kind.summary(doc)
    verdict = Verdict(basware_id, kind.name, summary.reference, summary.supplier.name, summary.currency, summary.gross)
    notes: tuple[str, ...] = ()
    try:
        notes = suppliers.resolve(svc, tenant, summary.supplier, read_only=True).notes
    except BLOCKS as exc:
        _unless_grant_dead(exc)
        verdict = _with(verdict, _problems(exc, "vendor"))
    try:
        exact = svc.exact(tenant, background=True)  # a check before going live: what writes leave
        _lines, problems, _journal = plan_document(svc, tenant, exact, kind, doc)
    except BLOCKS as exc:
        _unless_grant_dead(exc)
        problems = _problems(exc, "document")
    return _with(verdict, problems, notes)


def _unless_grant_dead(exc: Exception) -> None:
    if isinstance(exc, ReauthRequired):
        raise exc


def _with(verdict: Verdict, problems: Iterable[Problem], notes: Iterable[str] = ()) -> Verdict:
    return Verdict(
        verdict.basware_id, verdict.kind, verdict.reference, verdict.supplier, verdict.currency, verdict.gross,
        (*verdict.problems, *problems), (*verdict.notes, *notes),
    )  # fmt: skip


def _problems(exc: FatalAPIError | RecordBlocked, field_name: str) -> list[Problem]:
    found = [Problem.from_dict(p) for p in getattr(exc, "problems", None) or []]
    return found or [Problem(None, field_name, None, None, str(exc))]


def cause(problem: Problem) -> str:
    """The cause a problem is grouped under: 'ended cost center', 'vendor not in Exact', ..."""
    if problem.field in ("cost_center", "cost_unit") and " ended on " in problem.text:
        return f"ended {problem.field.replace('_', ' ')}"
    if problem.field == "vat_code" and problem.mapped_code is None and problem.basware_code:
        return "missing VAT mapping"
    return CAUSES.get(problem.field, problem.field.replace("_", " ") or "document")


def by_cause(verdicts: Iterable[Verdict]) -> dict[str, list[tuple[Verdict, Problem]]]:
    """Every problem of every verdict, grouped by cause, causes in order of first appearance."""
    grouped: dict[str, list[tuple[Verdict, Problem]]] = {}
    for verdict in verdicts:
        for problem in verdict.problems:
            grouped.setdefault(cause(problem), []).append((verdict, problem))
    return grouped


def suggested_mappings(verdicts: Iterable[Verdict]) -> list[tuple[str, str, str]]:
    """(kind, Basware code, Exact code) rows for `mappings import`; '?' where no close match was found."""
    rows: dict[tuple[str, str], str] = {}
    for verdict in verdicts:
        for problem in verdict.problems:
            if problem.field in MAPPING_KINDS and problem.basware_code:
                # A vendor's suggestions describe accounts in words; a person picks the supplier code.
                close = problem.suggestions if problem.field != "vendor" else ()
                target = close[0] if close else "?"
                rows.setdefault((problem.field, problem.basware_code), target)
    return [(kind, source, target) for (kind, source), target in rows.items()]
