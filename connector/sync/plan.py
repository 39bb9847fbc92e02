"""What the steps decide before the write, as values: the Exact supplier, the Exact lines, the journal.

A record keeps its plan as JSON between steps. It is read and written here only: `Plan.load` turns the
stored JSON back into values (amounts and quantities back to `Decimal`, whatever JSON made of them), and
`Plan.dump` gives the JSON shape records have always stored (`{"supplier": {"ID": ...}, "lines": [...]}`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

# Exact line fields that hold money or quantities: Decimal in a plan, whatever the JSON round trip made of them.
DECIMAL_FIELDS = frozenset({"AmountFC", "VATAmountFC", "QuantityInPurchaseUnits", "NetPrice"})
Line = dict[str, Any]  # one Exact document line, field by field, as it is sent


@dataclass(frozen=True)
class Supplier:
    """The Exact supplier of a document and how it was found (`how`: mapping, code, vat, name, created)."""

    id: str
    how: str
    code: str | None = None
    name: str | None = None
    origin: str | None = None  # for a mapping: the rule that first found it, or "manual"
    fields: dict[str, Any] | None = None  # for a created supplier: what it was created with
    notes: tuple[str, ...] = ()

    @classmethod
    def of_account(cls, account: dict[str, Any], how: str) -> Supplier:
        """The supplier an Exact account is, found by `how`."""
        return cls(str(account["ID"]), how, str(account.get("Code") or "").strip(), account.get("Name"))

    def label(self) -> str:
        """Code and name when known, else the account id."""
        return " ".join(str(part) for part in (self.code, self.name) if part) or self.id

    def dump(self) -> dict[str, Any]:
        """The stored form: `ID`, `Code`, `Name`, `how`, and `origin`, `fields`, `notes` when they apply."""
        data: dict[str, Any] = {"ID": self.id, "Code": self.code, "Name": self.name, "how": self.how}
        if self.origin is not None:
            data["origin"] = self.origin
        if self.fields is not None:
            data["fields"] = self.fields
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def load(cls, data: dict[str, Any]) -> Supplier:
        """A stored supplier back as a value."""
        return cls(
            id=str(data["ID"]),
            how=str(data.get("how") or ""),
            code=data.get("Code"),
            name=data.get("Name"),
            origin=data.get("origin"),
            fields=data.get("fields"),
            notes=tuple(data.get("notes") or ()),
        )


@dataclass(frozen=True)
class Plan:
    """A record's plan so far: the supplier once mapped, the lines and journal once validated."""

    supplier: Supplier | None = None
    lines: tuple[Line, ...] = field(default=())
    journal: str | None = None
    line_ids: dict[str, str] = field(default_factory=dict)  # Basware row key -> the Exact line written for it

    def with_supplier(self, supplier: Supplier) -> Plan:
        """This plan with its supplier chosen."""
        return replace(self, supplier=supplier)

    def with_line_ids(self, line_ids: dict[str, str]) -> Plan:
        """This plan knowing which Exact line each Basware row was written as."""
        return replace(self, line_ids=dict(line_ids))

    def with_lines(self, lines: list[Line], journal: str | None = None) -> Plan:
        """This plan with its lines (and journal, for kinds that have one) checked."""
        return replace(self, lines=tuple(lines), journal=journal if journal is not None else self.journal)

    @property
    def supplier_id(self) -> str:
        """The Exact supplier's account id; a plan read before the supplier step is a bug."""
        assert self.supplier is not None, "supplier not mapped yet"
        return self.supplier.id

    def dump(self) -> dict[str, Any]:
        """The JSON a record stores."""
        data: dict[str, Any] = {}
        if self.supplier is not None:
            data["supplier"] = self.supplier.dump()
        if self.lines:
            data["lines"] = [dict(line) for line in self.lines]
        if self.journal is not None:
            data["journal"] = self.journal
        if self.line_ids:
            data["line_ids"] = dict(self.line_ids)
        return data

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Plan:
        """A record's stored plan as values; an empty or missing plan is an empty one."""
        data = data or {}
        supplier = Supplier.load(data["supplier"]) if data.get("supplier") else None
        lines = tuple(_line(line) for line in data.get("lines") or ())
        line_ids = {str(key): str(value) for key, value in (data.get("line_ids") or {}).items()}
        return cls(supplier=supplier, lines=lines, journal=data.get("journal"), line_ids=line_ids)


def _line(stored: dict[str, Any]) -> Line:
    return {key: Decimal(str(value)) if key in DECIMAL_FIELDS else value for key, value in stored.items()}
