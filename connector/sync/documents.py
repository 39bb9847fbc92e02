"""The document kinds the connector handles, by the record kind that names them."""

from __future__ import annotations

from typing import Any

from connector.store.records import Record
from connector.sync.invoice import InvoiceKind
from connector.sync.kinds import DocumentKind
from connector.sync.order import OrderKind

KINDS: dict[str, DocumentKind[Any]] = {kind.name: kind for kind in (InvoiceKind(), OrderKind())}


def kind_of(record: Record) -> DocumentKind[Any]:
    """The kind of document a record holds."""
    return KINDS[record.kind]
