"""What makes one kind of Basware document different from another: the `DocumentKind` the steps run over.

The steps (`sync.steps`: fetch, map the supplier, validate, write once, report) and the Celery chain are
written once; everything that differs between an invoice and a purchase order is a method here: how the
document is fetched from and acknowledged in Basware, parsed and summed up, planned into Exact lines, sent
to Exact, found there again, compared with a later version, updated, and reported back. A third kind is
one new module with a subclass, registered in `sync.documents`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from connector.basware.client import BaswareClient
from connector.exact.client import ExactClient
from connector.mapping.dimensions import Mapping, MasterData
from connector.mapping.problems import Problem
from connector.store import records
from connector.store.records import Kind, Record
from connector.store.tenants import Tenant
from connector.sync.plan import Line, Plan
from connector.sync.services import Services
from connector.sync.suppliers import SupplierRef

D = TypeVar("D")  # the parsed document: Invoice, PurchaseOrder, ...


@dataclass(frozen=True)
class Summary:
    """What a record shows of its document, and the words the audit uses for it."""

    reference: str
    supplier: SupplierRef
    currency: str
    gross: Decimal | None
    text: str


@dataclass(frozen=True)
class Change(Generic[D]):
    """A later version of a handled document: the version handled (None if unknown), the new one, what differs."""

    record: Record
    document: dict[str, Any]
    old: D | None
    new: D
    diff: list[str]


class DocumentKind(ABC, Generic[D]):
    """One kind of Basware document and the Exact document it becomes."""

    name: ClassVar[Kind]
    label: ClassVar[str]  # in words: "invoice", "purchase order"
    exact_label: ClassVar[str]  # the Exact document in words: "purchase entry"
    event: ClassVar[str]  # the audit events' prefix for the Exact document: entry_created, order_adopted
    reports_blocks: ClassVar[bool]  # whether Basware is told when a record is blocked
    lines_nav: ClassVar[str]  # the Exact document's lines: "PurchaseEntryLines"
    waiting_status: ClassVar[str]  # Basware's processingStatus while the document waits for us
    taken_status: ClassVar[str | None]  # the status our `take` leaves it in (None: it takes nothing at fetch)

    # -- Basware -------------------------------------------------------------------------------------------

    @abstractmethod
    def download(self, basware: BaswareClient, basware_id: str) -> dict[str, Any]:
        """Basware's current version of the document."""

    def take(self, basware: BaswareClient, basware_id: str) -> str:
        """Whatever Basware must be told when a version is taken on (a note for the audit; nothing by default)."""
        return ""

    @abstractmethod
    def parse(self, document: dict[str, Any], tenant: Tenant) -> D:
        """The document as the connector's values."""

    @abstractmethod
    def summary(self, doc: D) -> Summary:
        """Reference, supplier, currency and amount of the document, and how the audit names it."""

    @abstractmethod
    def report(self, svc: Services, record: Record) -> None:
        """Tell Basware the record's outcome, once (under the record's lease)."""

    # -- planning --------------------------------------------------------------------------------------------

    def prepare(self, exact: ExactClient, tenant: Tenant, doc: D, table: Mapping) -> Any:
        """What planning needs from Exact beyond the cached master data (nothing by default)."""
        return None

    @abstractmethod
    def document_problems(self, tenant: Tenant, doc: D, master: MasterData, table: Mapping) -> list[Problem]:
        """What is wrong with the document as a whole (amounts, journal, ...)."""

    @abstractmethod
    def plan_lines(
        self, tenant: Tenant, doc: D, master: MasterData, table: Mapping, prepared: Any
    ) -> tuple[list[Line], list[Problem]]:
        """The Exact lines for the document, and every problem found on the way."""

    def journal(self, tenant: Tenant, table: Mapping) -> str | None:
        """The Exact journal the document is booked in, for kinds that have one."""
        return None

    # -- Exact -------------------------------------------------------------------------------------------------

    @abstractmethod
    def payload(self, plan: Plan, doc: D) -> dict[str, Any]:
        """The Exact document to create, from the plan; amounts are Basware's, unchanged."""

    @abstractmethod
    def find(self, exact: ExactClient, supplier_id: str, reference: str) -> list[dict[str, Any]]:
        """Exact documents of this supplier with this reference: what an interrupted write may have made."""

    @abstractmethod
    def create(self, exact: ExactClient, payload: dict[str, Any], on_admitted: Callable[[], None]) -> dict[str, Any]:
        """Create the Exact document; `on_admitted` is handed to the client (see `writing.write_once`)."""

    @abstractmethod
    def identity(self, written: dict[str, Any]) -> tuple[str, str]:
        """(id, number) of an Exact document."""

    def verify(self, svc: Services, record: Record, doc: D, written: dict[str, Any]) -> None:
        """Check what Exact kept against the document, after the write (nothing by default)."""

    # -- later versions ----------------------------------------------------------------------------------------

    @abstractmethod
    def changes(self, old: D, new: D) -> list[str]:
        """What differs between two versions, in words; empty when nothing that is written changed."""

    def is_offered(self, document: dict[str, Any]) -> bool:
        """True when Basware offers the document to us: it waits for transfer (or export)."""
        return document.get("processingStatus") == self.waiting_status

    def unchanged(self, svc: Services, record: Record, document: dict[str, Any]) -> None:
        """A written record delivered again without changes: when Basware offers it again (someone put it back
        to waiting), take it and answer it again with the Exact document it already is; else nothing."""
        if not self.is_offered(document):
            return
        self.take(svc.basware(svc.tenant(record.tenant_id)), record.basware_id)
        records.update(svc.db, record.id, reported=None)  # the report step answers again, with a new code

    @abstractmethod
    def line_keys(self, doc: D) -> list[str]:
        """The key of each planned line, in plan order: which Basware row or line it came from."""

    @abstractmethod
    def update(self, svc: Services, change: Change[D]) -> None:
        """A written document changed in Basware: update it in Exact, or block the record with the changes."""
