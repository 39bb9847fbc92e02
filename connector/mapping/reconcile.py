"""Month-end reconciliation as pure values: Basware documents the connector handled against Exact entries.

Each Basware document of the period is matched to the Exact purchase entries of the tenant's journal by the
entry the connector wrote (its id) or by supplier and `YourRef` (what a person typing the invoice in would
give it too). One entry: matched when the gross agrees to the cent in the same currency, else the amounts
differ. None: in Basware but not in Exact. Several: duplicates. Entries left over were entered by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

CENT = Decimal("0.01")


class Category(StrEnum):
    """Where one line of the reconciliation lands; the values are what JSON and CSV output hold."""

    MATCHED = "matched"
    AMOUNT_DIFFERS = "amount_differs"
    NOT_IN_EXACT = "not_in_exact"
    NOT_FROM_BASWARE = "not_from_basware"
    DUPLICATE = "duplicate"


LABELS = {
    Category.MATCHED: "matched",
    Category.AMOUNT_DIFFERS: "amount differs",
    Category.NOT_IN_EXACT: "in Basware, not in Exact",
    Category.NOT_FROM_BASWARE: "in Exact, not from Basware (entered by hand)",
    Category.DUPLICATE: "duplicates (several entries for one invoice)",
}


@dataclass(frozen=True)
class BaswareDocument:
    """A Basware invoice as its record holds it; `supplier_id` is the Exact account once mapped."""

    basware_id: str
    reference: str
    supplier: str
    supplier_id: str | None
    currency: str
    gross: Decimal | None
    invoice_date: date | None
    status: str
    reason: str | None = None
    exact_id: str | None = None
    record_id: int | None = None


@dataclass(frozen=True)
class ExactEntry:
    """An Exact purchase entry as read for the reconciliation."""

    entry_id: str
    entry_number: str
    supplier_id: str
    your_ref: str
    currency: str
    amount: Decimal
    entry_date: date | None
    supplier_name: str = ""  # known when a Basware document of the period has the same supplier


@dataclass(frozen=True)
class Line:
    """One row of the report: a Basware document and the entries found for it (either side may be empty)."""

    category: Category
    document: BaswareDocument | None
    entries: tuple[ExactEntry, ...] = ()

    @property
    def currency(self) -> str:
        """The document's currency, else the first entry's."""
        if self.document is not None:
            return self.document.currency
        return self.entries[0].currency

    @property
    def basware_amount(self) -> Decimal:
        """The Basware gross (zero when there is no document or no amount yet)."""
        gross = self.document.gross if self.document is not None else None
        return gross if gross is not None else Decimal("0.00")

    @property
    def exact_amount(self) -> Decimal:
        """The sum of the entries' amounts."""
        return sum((entry.amount for entry in self.entries), Decimal("0.00"))


@dataclass
class Total:
    """How many lines, and the Basware and Exact amounts they add up to, in one currency."""

    count: int = 0
    basware: Decimal = Decimal("0.00")
    exact: Decimal = Decimal("0.00")

    def add(self, line: Line) -> None:
        """Count one line in."""
        self.count += 1
        self.basware += line.basware_amount
        self.exact += line.exact_amount


@dataclass
class Report:
    """Every line, the totals per category and currency, and the grand total per currency."""

    lines: list[Line]
    totals: dict[tuple[Category, str], Total] = field(default_factory=dict)
    grand: dict[str, Total] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        """True when every line is matched: both systems agree."""
        return all(line.category == Category.MATCHED for line in self.lines)

    def of(self, category: Category) -> list[Line]:
        """The lines of one category."""
        return [line for line in self.lines if line.category == category]


def reconcile(documents: Sequence[BaswareDocument], entries: Sequence[ExactEntry]) -> Report:
    """Match documents to entries and sort every one of them into a category, with totals."""
    names = {d.supplier_id.lower(): d.supplier for d in documents if d.supplier_id and d.supplier}
    entries = [replace(e, supplier_name=e.supplier_name or names.get(e.supplier_id.lower(), "")) for e in entries]
    by_id = {entry.entry_id.lower(): entry for entry in entries}
    by_key: dict[tuple[str, str], list[ExactEntry]] = defaultdict(list)
    for entry in entries:
        by_key[_key(entry.supplier_id, entry.your_ref)].append(entry)
    claimed: set[str] = set()
    lines = []
    for document in documents:
        found = [e for e in _candidates(document, by_id, by_key) if e.entry_id.lower() not in claimed]
        claimed.update(e.entry_id.lower() for e in found)
        lines.append(Line(_category(document, found), document, tuple(found)))
    for entry in entries:
        if entry.entry_id.lower() not in claimed:
            lines.append(Line(Category.NOT_FROM_BASWARE, None, (entry,)))
    return _with_totals(lines)


def _candidates(
    document: BaswareDocument, by_id: dict[str, ExactEntry], by_key: dict[tuple[str, str], list[ExactEntry]]
) -> list[ExactEntry]:
    found: dict[str, ExactEntry] = {}
    written = by_id.get((document.exact_id or "").lower())
    if written is not None:
        found[written.entry_id.lower()] = written
    if document.supplier_id:
        for entry in by_key.get(_key(document.supplier_id, document.reference), []):
            found.setdefault(entry.entry_id.lower(), entry)
    return list(found.values())


def _category(document: BaswareDocument, found: list[ExactEntry]) -> Category:
    if not found:
        return Category.NOT_IN_EXACT
    if len(found) > 1:
        return Category.DUPLICATE
    return Category.MATCHED if agrees(document, found[0]) else Category.AMOUNT_DIFFERS


def agrees(document: BaswareDocument, entry: ExactEntry) -> bool:
    """Same supplier, reference, currency and gross to the cent."""
    return (
        document.gross is not None
        and _cents(document.gross) == _cents(entry.amount)
        and document.currency.upper() == entry.currency.upper()
        and _key(document.supplier_id or "", document.reference) == _key(entry.supplier_id, entry.your_ref)
    )


def _with_totals(lines: list[Line]) -> Report:
    report = Report(lines)
    for line in lines:
        report.totals.setdefault((line.category, line.currency), Total()).add(line)
        report.grand.setdefault(line.currency, Total()).add(line)
    return report


def _key(supplier_id: str, reference: str) -> tuple[str, str]:
    # Exact keeps GUIDs in lower case and compares text without regard to case (docs/api-facts.md).
    return supplier_id.strip().lower(), " ".join(reference.split()).lower()


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def categories() -> Iterable[Category]:
    """The categories in the order a report shows them."""
    return iter(Category)
