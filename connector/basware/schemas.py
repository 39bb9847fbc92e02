"""Load Basware JSON into the connector's domain: invoices, vendors and push notifications.

Amounts must already be exact: `Decimal` (what `connector.jsonutil.loads` produces), `int` or a numeric
string; a float is refused because it may already have lost a cent. Unknown fields are ignored because
Basware's API only ever adds fields (docs/api-facts.md#basware-paging-and-redirects).

Errors: `load_invoice` and `load_vendor` raise `connector.errors.RecordBlocked` naming every bad field, so
the record is kept and explained. `load_notification` raises `marshmallow.ValidationError`: the webhook
receiver turns its `messages` into a 400 answer, since a bad notification is the sender's problem, not a
record's.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, pre_load, validates_schema

from connector.domain import CodingRow, Invoice, Notification, Vendor
from connector.errors import RecordBlocked

NOTIFICATION_FIELDS = ("taskId", "taskType", "taskStatus", "taskSubType", "documentId")
MISSING = "Missing data for required field."
# Decision (ours): no invoice line or total reaches a trillion; a larger figure is a data error (e.g. 1E+30),
# blocked with its reason rather than carried into Exact or our own columns.
MAX_AMOUNT = Decimal("1000000000000")
TEXT_LIMIT = 1000  # any Basware text we keep; fields stored in narrower columns say their own limit
VAT_SCHEMES = {"VAT", "VATID"}  # compared after dropping case, "_", "-" and spaces: VAT, VATID, VAT_ID …


class Money(fields.Field):
    """An exact amount: Decimal, int or numeric string in; Decimal out; floats and NaN refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, float | bool):
            raise ValidationError("must be an exact number, not a float")
        try:
            amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError("not a valid number") from None
        if not amount.is_finite():
            raise ValidationError("must be a finite number")
        if abs(amount) >= MAX_AMOUNT:
            raise ValidationError(f"{amount} is beyond any amount the connector books (under {MAX_AMOUNT:,})")
        return amount


class StorableString(fields.String):
    """A string the database can keep as it came: valid Unicode, no NUL, at most `max_length` characters.

    PostgreSQL refuses NUL in text and a lone surrogate cannot be encoded; both, and an over-long value,
    would otherwise surface as a database error long after the input was accepted.
    """

    def __init__(self, *args: Any, max_length: int = TEXT_LIMIT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > self.max_length:
            raise ValidationError(f"longer than {self.max_length} characters")
        if "\x00" in text:
            raise ValidationError("contains a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("is not valid Unicode (a lone surrogate)") from None
        return text


class FlexibleDate(fields.Field):
    """A calendar date from "2026-11-20", "2026-11-20T00:00:00Z" or "2026-11-20T00:00:00(+hh:mm)"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise ValidationError("not a valid date")
        try:
            # The date as written: converting to UTC first would move a local midnight to the previous day.
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            raise ValidationError("not a valid date") from None


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class CodingRowSchema(_Base):
    row_index = fields.Integer(data_key="rowIndex", load_default=None)
    account_code = StorableString(data_key="accountCode", load_default=None, allow_none=True)
    cost_center_code = StorableString(data_key="costCenterCode", load_default=None, allow_none=True)
    tax_code = StorableString(data_key="taxCode", load_default=None, allow_none=True)
    tax_percent = Money(data_key="taxPercent", load_default=None, allow_none=True)
    tax = Money(data_key="taxSum", load_default=Decimal("0"))
    net = Money(data_key="netTotal", required=True)
    gross = Money(data_key="grossTotal", load_default=None, allow_none=True)
    description = StorableString(data_key="lastComment", load_default=None, allow_none=True)


class InvoiceSchema(_Base):
    invoice_id = StorableString(data_key="invoiceId", required=True, max_length=100)
    invoice_number = StorableString(data_key="invoiceNumber", required=True, max_length=120)
    company_code = StorableString(data_key="companyCode", required=True)
    supplier_code = StorableString(data_key="supplierCode", required=True)
    supplier_name = StorableString(data_key="supplierName", load_default="", max_length=250)
    currency = StorableString(data_key="currencyCode", required=True, max_length=3)
    invoice_date = FlexibleDate(data_key="invoiceDate", required=True)
    due_date = FlexibleDate(data_key="dueDate", load_default=None, allow_none=True)
    net_sum = Money(data_key="netSum", required=True)
    tax_sum1 = Money(data_key="taxSum1", load_default=Decimal("0"), allow_none=True)
    tax_sum2 = Money(data_key="taxSum2", load_default=Decimal("0"), allow_none=True)
    gross_sum = Money(data_key="grossSum", required=True)
    description = StorableString(load_default=None, allow_none=True)
    processing_status = StorableString(data_key="processingStatus", load_default=None, allow_none=True)
    rows = fields.List(fields.Nested(CodingRowSchema), data_key="codingRows", required=True)


def load_invoice(data: dict[str, Any], cost_unit_field: str | None = "projectCode") -> Invoice:
    """An `Invoice` from an AccountingDocumentEntity; `cost_unit_field` names the cost-unit dimension."""
    label = data.get("invoiceId") if isinstance(data, dict) else None
    loaded = _load(InvoiceSchema(), data, f"Basware invoice {label or '(no invoiceId)'}")
    raw_rows = data["codingRows"]
    rows = tuple(
        _coding_row(position, row, raw, cost_unit_field)
        for position, (row, raw) in enumerate(zip(loaded.pop("rows"), raw_rows, strict=True), start=1)
    )
    tax_sum = (loaded.pop("tax_sum1") or Decimal("0")) + (loaded.pop("tax_sum2") or Decimal("0"))
    return Invoice(rows=rows, tax_sum=tax_sum, **loaded)


def _coding_row(position: int, row: dict[str, Any], raw: dict[str, Any], cost_unit_field: str | None) -> CodingRow:
    # rowIndex is optional in Basware; fall back to the 1-based position so every row can be named in errors.
    row_index = row.pop("row_index")
    cost_unit = raw.get(cost_unit_field) if cost_unit_field else None
    return CodingRow(
        row_index=position if row_index is None else row_index,
        cost_unit_code=None if cost_unit in (None, "") else str(cost_unit),
        **row,
    )


class _IdentifierSchema(_Base):
    id = StorableString(load_default=None, allow_none=True)
    scheme_id = StorableString(data_key="schemeId", load_default=None, allow_none=True)


class _AddressSchema(_Base):
    default = fields.Boolean(load_default=False, allow_none=True)
    street = StorableString(data_key="streetName", load_default=None, allow_none=True)
    postcode = StorableString(data_key="postalZone", load_default=None, allow_none=True)
    city = StorableString(data_key="cityName", load_default=None, allow_none=True)
    country = StorableString(data_key="countryId", load_default=None, allow_none=True)


class _ContactSchema(_Base):
    email = StorableString(load_default=None, allow_none=True)


class _AccountSchema(_Base):
    identifiers = fields.List(
        fields.Nested(_IdentifierSchema), data_key="financialAccountIdentifiers", load_default=list
    )
    institution = fields.Nested(_IdentifierSchema, data_key="financialInstitution", load_default=None, allow_none=True)


class _PaymentMeansSchema(_Base):
    default = fields.Boolean(load_default=False, allow_none=True)
    accounts = fields.List(fields.Nested(_AccountSchema), data_key="financialAccounts", load_default=list)


class VendorSchema(_Base):
    code = StorableString(data_key="vendorCode", required=True)
    name = StorableString(required=True)
    identifiers = fields.List(fields.Nested(_IdentifierSchema), load_default=list)
    addresses = fields.List(fields.Nested(_AddressSchema), load_default=list)
    contacts = fields.List(fields.Nested(_ContactSchema), load_default=list)
    payment_means = fields.List(fields.Nested(_PaymentMeansSchema), data_key="paymentMeans", load_default=list)


def load_vendor(data: dict[str, Any]) -> Vendor:
    """A `Vendor` from a VendorEntity: VAT id, default address, first e-mail, first IBAN and its BIC."""
    label = data.get("vendorCode") if isinstance(data, dict) else None
    loaded = _load(VendorSchema(), data, f"Basware vendor {label or '(no vendorCode)'}")
    addresses: list[dict[str, Any]] = loaded["addresses"]
    address: dict[str, Any] = next((a for a in addresses if a["default"]), next(iter(addresses), {}))
    iban, bic = _bank_account(loaded["payment_means"])
    return Vendor(
        code=loaded["code"],
        name=loaded["name"],
        vat_number=_vat_number(loaded["identifiers"]),
        email=next((c["email"] for c in loaded["contacts"] if c["email"]), None),
        street=address.get("street"),
        postcode=address.get("postcode"),
        city=address.get("city"),
        country=address.get("country"),
        iban=iban,
        bic=bic,
    )


def _vat_number(identifiers: list[dict[str, Any]]) -> str | None:
    # Which schemeId means VAT is tenant configuration (docs/api-facts.md#basware-vendors): accept the usual ones.
    for identifier in identifiers:
        scheme = "".join(ch for ch in (identifier["scheme_id"] or "").upper() if ch.isalnum())
        if scheme in VAT_SCHEMES and identifier["id"]:
            return str(identifier["id"])
    return None


def _bank_account(payment_means: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The first IBAN, looking at the default payment means first, with its institution's BIC."""
    ordered = sorted(payment_means, key=lambda means: not means["default"])
    for means in ordered:
        for account in means["accounts"]:
            iban = next(
                (i["id"] for i in account["identifiers"] if (i["scheme_id"] or "").upper() == "IBAN" and i["id"]),
                None,
            )
            if iban:
                institution = account["institution"] or {}
                return iban, institution.get("id")
    return None, None


class NotificationSchema(Schema):
    class Meta:
        unknown = INCLUDE  # everything else (expirationTime, …) is kept in Notification.extra

    # The lengths are those of the inbox columns; Basware's ids are far shorter.
    taskId = StorableString(required=True, max_length=100)
    taskType = StorableString(required=True, max_length=60)
    taskStatus = StorableString(required=True, max_length=60)
    taskSubType = StorableString(load_default=None, allow_none=True, max_length=60)
    documentId = StorableString(load_default=None, allow_none=True, max_length=100)

    @pre_load
    def _fix_task_type(self, data: Any, **kwargs: Any) -> Any:
        # Basware's own example payload spells it "AccoutingDocuments"; the subscription enum does not.
        if isinstance(data, dict) and data.get("taskType") == "AccoutingDocuments":
            return {**data, "taskType": "AccountingDocuments"}
        return data

    @validates_schema
    def _require_document(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("taskType") != "ConnectionTest" and not data.get("documentId"):
            raise ValidationError(MISSING, "documentId")


_schemas = threading.local()  # building a Schema (its fields deep-copied) cost more than loading with it


def load_notification(data: dict[str, Any]) -> Notification:
    """A `Notification` from a push payload; raises `marshmallow.ValidationError` (answer it with 400)."""
    schema = getattr(_schemas, "notification", None)
    if schema is None:
        schema = _schemas.notification = NotificationSchema()
    loaded = schema.load(data)
    extra = {key: value for key, value in loaded.items() if key not in NOTIFICATION_FIELDS}
    return Notification(
        task_id=loaded["taskId"],
        task_type=loaded["taskType"],
        task_status=loaded["taskStatus"],
        document_id=loaded.get("documentId"),
        task_sub_type=loaded.get("taskSubType"),
        extra=extra,
    )


def _load(schema: Schema, data: Any, what: str) -> dict[str, Any]:
    """Load with `schema`, turning a ValidationError into RecordBlocked that names every bad field."""
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        problems = [{"field": path, "problem": text} for path, text in _flatten(exc.messages)]
        raise RecordBlocked(f"{what} cannot be read: {_summary(problems)}", problems) from None


def _summary(problems: list[dict[str, str]]) -> str:
    """ "missing field(s) a, b; c: not a valid number" — the missing ones first, as people fix those first."""
    missing = [p["field"] for p in problems if p["problem"] == MISSING]
    invalid = [f"{p['field']}: {p['problem']}" for p in problems if p["problem"] != MISSING]
    return "; ".join(([f"missing field(s) {', '.join(missing)}"] if missing else []) + invalid)


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Marshmallow's nested messages as (dotted path, text) pairs, e.g. ("codingRows[0].netTotal", "…")."""
    if isinstance(messages, dict):
        pairs = []
        for key, value in messages.items():
            path = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
            pairs.extend(_flatten(value, path))
        return pairs
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix or "(record)", " ".join(messages))]
    if isinstance(messages, list):
        return [pair for item in messages for pair in _flatten(item, prefix)]
    return [(prefix or "(record)", str(messages))]
