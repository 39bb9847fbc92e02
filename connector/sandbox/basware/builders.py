"""Documents for the Basware sandbox, built the way Basware shapes them: invoices, vendors and purchase orders.

Sourced (docs/api-facts.md, Basware: accounting documents, vendors, exported purchase orders): the entity shapes
and field names. Decision (ours): every total is the exact Decimal sum of its rows; tax on an order line is rounded
half up to the cent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connector.sandbox.basware.wire import decimal_value

WAITING_FOR_EXPORT = "WaitingForExport"
_CENT = Decimal("0.01")


def make_invoice(
    invoice_number: str,
    supplier_code: str,
    supplier_name: str,
    rows: Iterable[dict[str, Any] | tuple[Any, ...]],
    *,
    currency: str = "EUR",
    invoice_date: str = "2026-11-20",
    due_date: str = "2026-12-20",
    company_code: str = "DEMO",
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """An AccountingDocumentEntity whose totals are exact Decimal sums of its rows.

    A row is a dict (account_code, cost_center_code, tax_code, tax_percent, net, tax, optional project_code and
    row_index, else its position) or a tuple in that order.
    """
    coding_rows = [_coding_row(index, row) for index, row in enumerate(rows, start=1)]
    net_sum = sum((row["netTotal"] for row in coding_rows), Decimal("0"))
    tax_sum = sum((row["taxSum"] for row in coding_rows), Decimal("0"))
    return {
        "invoiceId": invoice_id or uuid.uuid4().hex,
        "invoiceNumber": invoice_number,
        "companyCode": company_code,
        "supplierCode": supplier_code,
        "supplierName": supplier_name,
        "currencyCode": currency,
        "invoiceDate": invoice_date,
        "dueDate": due_date,
        "netSum": net_sum,
        "taxSum1": tax_sum,
        "grossSum": net_sum + tax_sum,
        "paymentBlock": False,
        "description": f"Invoice {invoice_number} from {supplier_name}",
        "processingStatus": "WaitingForTransfer",
        "codingRows": coding_rows,
    }


_ROW_KEYS = ("account_code", "cost_center_code", "tax_code", "tax_percent", "net", "tax", "project_code")


def _coding_row(index: int, row: dict[str, Any] | tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(_ROW_KEYS, row, strict=False)) if isinstance(row, tuple) else dict(row)
    net, tax = decimal_value(values["net"]), decimal_value(values["tax"])
    return {
        "externalCode": str(uuid.uuid4()),
        "rowIndex": values.get("row_index") or index,
        "accountCode": values["account_code"],
        "costCenterCode": values.get("cost_center_code"),
        "projectCode": values.get("project_code"),
        "taxCode": values.get("tax_code"),
        "taxPercent": decimal_value(values.get("tax_percent") or 0),
        "taxSum": tax,
        "netTotal": net,
        "grossTotal": net + tax,
    }


def make_vendor(
    code: str,
    name: str,
    vat: str | None = None,
    email: str | None = None,
    street: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
    country: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
) -> dict[str, Any]:
    """A VendorEntity with the parts the connector reads: VAT identifier, default address, contact, bank."""
    vendor: dict[str, Any] = {
        "externalCode": code,
        "vendorCode": code,
        "name": name,
        "companies": [{"companyCode": "DEMO", "inheritToChildUnits": True}],
        "identifiers": [{"id": vat, "schemeId": "VAT", "defaultPartyId": False}] if vat else [],
        "addresses": [],
        "contacts": [{"name": name, "email": email}] if email else [],
        "paymentMeans": [],
    }
    if street or postcode or city or country:
        address = {"streetName": street, "postalZone": postcode, "cityName": city, "countryId": country}
        vendor["addresses"] = [
            {"externalCode": f"{code}-1", "addressType": "PostalAddress", "default": True, **address}
        ]
    if iban:
        institution = {"id": bic, "schemeId": "BIC"} if bic else None
        account: dict[str, Any] = {"financialAccountIdentifiers": [{"schemeId": "IBAN", "id": iban, "default": True}]}
        if institution:
            account["financialInstitution"] = institution
        vendor["paymentMeans"] = [{"paymentMeansCode": "58", "default": True, "financialAccounts": [account]}]
    return vendor


def make_purchase_order(
    order_number: str,
    supplier_code: str,
    supplier_name: str,
    lines: Iterable[dict[str, Any]],
    *,
    currency: str = "EUR",
    desired_delivery_date: str = "2026-12-01",
    order_date: str = "2026-11-20T09:30:00Z",
    company_code: str = "DEMO",
    external_code: str | None = None,
) -> dict[str, Any]:
    """An ExportedPurchaseOrderEntity whose sums are exact Decimal sums of its lines.

    A line is a dict with `quantity` and `unit_price` and optionally description, line_type (Catalog or
    FreeText), buyer_product_code, supplier_product_code, category_code, tax_percent, cost_center_code,
    project_code and account_code (the last three become one coding row).
    """
    order_lines = [_line(number, dict(line)) for number, line in enumerate(lines, start=1)]
    net = sum((line["netSum"] for line in order_lines), Decimal("0"))
    tax = sum((line["taxTotal"] for line in order_lines), Decimal("0"))
    return {
        "externalCode": external_code or uuid.uuid4().hex,
        "orderNumber": order_number,
        "processingStatus": WAITING_FOR_EXPORT,
        "orderStatus": "Ordered",
        "orderType": "Standard",
        "companyCode": company_code,
        "supplierCode": supplier_code,
        "supplierName": supplier_name,
        "purchaseCurrency": currency,
        "companyCurrency": currency,
        "netSum": net,
        "taxSum": tax,
        "grossSum": net + tax,
        "desiredDeliveryDate": desired_delivery_date,
        "orderCreationTime": order_date,
        "sendingMethod": "BaswareNetwork",
        "orderLines": order_lines,
    }


def _line(number: int, values: dict[str, Any]) -> dict[str, Any]:
    quantity, price = decimal_value(values["quantity"]), decimal_value(values["unit_price"])
    percent = decimal_value(values.get("tax_percent") or 0)
    net = (quantity * price).quantize(_CENT, ROUND_HALF_UP)
    tax = (net * percent / 100).quantize(_CENT, ROUND_HALF_UP)
    coding = {
        "externalCode": str(uuid.uuid4()),
        "rowIndex": 1,
        "splitPercent": Decimal("100"),
        "accountCode": values.get("account_code"),
        "costCenterCode": values.get("cost_center_code"),
        "projectCode": values.get("project_code"),
    }
    has_coding = any(values.get(k) for k in ("account_code", "cost_center_code", "project_code"))
    return {
        "externalCode": str(uuid.uuid4()),
        "orderLineNumber": number,
        "lineStatus": "Ordered",
        "lineType": values.get("line_type", "Catalog"),
        "categoryCode": values.get("category_code"),
        "buyerProductCode": values.get("buyer_product_code"),
        "supplierProductCode": values.get("supplier_product_code"),
        "supplierProductName": values.get("description"),
        "description": values.get("description"),
        "quantity": quantity,
        "quantityUnit": values.get("quantity_unit", "PCE"),
        "netUnitPrice": price,
        "netPrice": price,
        "netSum": net,
        "taxPercent": percent,
        "taxTotal": tax,
        "grossSum": net + tax,
        "priceType": "Net",
        "codingRows": [coding] if has_coding else [],
        "goodsReceipts": [],
    }
