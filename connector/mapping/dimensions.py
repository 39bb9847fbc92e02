"""Map every coding row to Exact codes and check each one exists and may be used, before any write.

Pure: the master data and the tenant's mapping table come in as values, so every rule is testable alone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from connector.domain import CodingRow, Invoice
from connector.mapping import money
from connector.mapping.problems import problem

PURCHASE_JOURNAL_TYPE = 22
MANDATORY = 1  # GLAccount.UseCostcenter / UseCostunit: 0 optional, 1 mandatory, 2 no
# Active ISO 4217 codes: a typo such as "EUE" blocks here, with close matches, instead of in Exact.
ISO_CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
    CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD
    HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
    TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)


@dataclass(frozen=True)
class MasterData:
    """One division's master data, keyed by trimmed code."""

    division: int
    gl_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    cost_centers: dict[str, dict[str, Any]] = field(default_factory=dict)
    cost_units: dict[str, dict[str, Any]] = field(default_factory=dict)
    vat_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    journals: dict[str, dict[str, Any]] = field(default_factory=dict)


Mapping = dict[tuple[str, str], str]


def percent_key(percent: Decimal) -> str:
    """A tax percentage as a mapping source: 21.00 -> '21', 5.50 -> '5.5'."""
    text = format(percent.normalize(), "f")
    return text


def plan_lines(
    invoice: Invoice, master: MasterData, mapping: Mapping
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Exact purchase entry lines for the invoice, and every problem found on the way (empty when clean)."""
    lines: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for row in invoice.rows:
        line, row_problems = _plan_row(row, invoice, master, mapping)
        lines.append(line)
        problems.extend(row_problems)
    return lines, problems


def journal_problems(journal: str, master: MasterData, mapping: Mapping) -> list[dict[str, Any]]:
    """The tenant's purchase journal must exist in the division and be a purchase journal."""
    code = mapping.get(("journal", journal), journal)
    found = master.journals.get(code)
    if found is None:
        return [
            problem(
                None,
                "journal",
                journal,
                code,
                f"journal {code} does not exist in Exact division {master.division}",
                _close(code, master.journals),
            )
        ]
    if int(found.get("Type") or 0) != PURCHASE_JOURNAL_TYPE:
        return [
            problem(
                None,
                "journal",
                journal,
                code,
                f"journal {code} is not a purchase journal",
                [c for c, j in master.journals.items() if int(j.get("Type") or 0) == PURCHASE_JOURNAL_TYPE],
            )
        ]
    return []


def currency_problems(currency: str) -> list[dict[str, Any]]:
    """The invoice currency must be an active ISO 4217 code (Exact keeps amounts in it as FC amounts)."""
    if currency in ISO_CURRENCIES:
        return []
    close = difflib.get_close_matches(currency.upper(), sorted(ISO_CURRENCIES), n=3, cutoff=0.6)
    return [problem(None, "currency", currency, None, f"{currency!r} is not an ISO 4217 currency code", close)]


def _plan_row(
    row: CodingRow, invoice: Invoice, master: MasterData, mapping: Mapping
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    line: dict[str, Any] = {
        **money.entry_amounts(row),
        "Description": (row.description or invoice.description or f"Invoice {invoice.invoice_number}")[:100],
    }
    gl = _gl_account(row, master, mapping, problems)
    if gl is not None:
        line["GLAccount"] = gl
    for kind, source, key, table, label in (
        ("cost_center", row.cost_center_code, "CostCenter", master.cost_centers, "cost center"),
        ("cost_unit", row.cost_unit_code, "CostUnit", master.cost_units, "cost unit"),
    ):
        if source:
            code = _dimension(row, kind, source, table, label, invoice.invoice_date, master, mapping, problems)
            if code is not None:
                line[key] = code
    vat = _vat_code(row, master, mapping, problems)
    if vat is not None:
        line["VATCode"] = vat
    return line, problems


def _gl_account(row: CodingRow, master: MasterData, mapping: Mapping, problems: list[dict[str, Any]]) -> str | None:
    if not row.account_code:
        problems.append(problem(row.row_index, "gl_account", None, None, "the coding row has no GL account", []))
        return None
    code = mapping.get(("gl_account", row.account_code), row.account_code)
    found = master.gl_accounts.get(code)
    usable = {c: account for c, account in master.gl_accounts.items() if not account.get("IsBlocked")}
    if found is None:
        problems.append(
            problem(
                row.row_index,
                "gl_account",
                row.account_code,
                code,
                f"GL account {code} does not exist in Exact division {master.division}",
                _close(code, usable),
            )
        )
        return None
    if found.get("IsBlocked"):
        problems.append(
            problem(
                row.row_index,
                "gl_account",
                row.account_code,
                code,
                f"GL account {code} is blocked in Exact",
                _close(code, usable),
            )
        )
        return None
    _required_dimensions(row, found, problems)
    return str(found["ID"])


def _dimension(
    row: CodingRow,
    kind: str,
    source: str,
    table: dict[str, dict[str, Any]],
    label: str,
    entry_date: date,
    master: MasterData,
    mapping: Mapping,
    problems: list[dict[str, Any]],
) -> str | None:
    code = mapping.get((kind, source), source)
    found = table.get(code)
    usable = {c: d for c, d in table.items() if not _has_ended(d, entry_date)}
    if found is None:
        text = f"{label} {code} does not exist in Exact division {master.division}"
        problems.append(problem(row.row_index, kind, source, code, text, _close(code, usable)))
        return None
    if _has_ended(found, entry_date):
        ended = found["EndDate"].isoformat()
        text = f"{label} {code} ended on {ended}, before the invoice date {entry_date.isoformat()}"
        problems.append(problem(row.row_index, kind, source, code, text, _close(code, usable)))
        return None
    return code


def _has_ended(row: dict[str, Any], on: date) -> bool:
    ended = row.get("EndDate")
    return isinstance(ended, date) and ended < on  # usable up to and including its end date


def _required_dimensions(row: CodingRow, gl: dict[str, Any], problems: list[dict[str, Any]]) -> None:
    """A GL account can demand a cost center or cost unit on every line booked to it."""
    for flag, value, kind, label in (
        ("UseCostcenter", row.cost_center_code, "cost_center", "cost center"),
        ("UseCostunit", row.cost_unit_code, "cost_unit", "cost unit"),
    ):
        if not value and int(gl.get(flag) or 0) == MANDATORY:
            text = f"GL account {str(gl.get('Code') or '').strip()} requires a {label}, the coding row has none"
            problems.append(problem(row.row_index, kind, None, None, text, []))


def _vat_code(row: CodingRow, master: MasterData, mapping: Mapping, problems: list[dict[str, Any]]) -> str | None:
    source = row.tax_code or (percent_key(row.tax_percent) if row.tax_percent is not None else None)
    if source is None:
        problems.append(
            problem(
                row.row_index,
                "vat_code",
                None,
                None,
                "the coding row has neither a tax code nor a tax percentage",
                [],
            )
        )
        return None
    code = mapping.get(("vat_code", source))
    if code is None:
        problems.append(
            problem(
                row.row_index,
                "vat_code",
                source,
                None,
                f"no VAT mapping for Basware tax {source}; add a vat_code mapping",
                _vat_suggestions(row.tax_percent, master),
            )
        )
        return None
    found = master.vat_codes.get(code)
    if found is None or found.get("IsBlocked"):
        state = "does not exist" if found is None else "is blocked"
        problems.append(
            problem(
                row.row_index,
                "vat_code",
                source,
                code,
                f"VAT code {code} {state} in Exact division {master.division}",
                _vat_suggestions(row.tax_percent, master),
            )
        )
        return None
    if row.tax_percent is not None:
        exact_percent = Decimal(str(found.get("Percentage") or 0)) * 100
        if exact_percent.normalize() != row.tax_percent.normalize():
            problems.append(
                problem(
                    row.row_index,
                    "vat_code",
                    source,
                    code,
                    f"VAT code {code} is {percent_key(exact_percent)}% in Exact but the Basware "
                    f"line says {percent_key(row.tax_percent)}%",
                    _vat_suggestions(row.tax_percent, master),
                )
            )
            return None
    return code


def _vat_suggestions(percent: Decimal | None, master: MasterData) -> list[str]:
    if percent is None:
        return []
    return [
        code
        for code, vat in master.vat_codes.items()
        if not vat.get("IsBlocked")
        and (Decimal(str(vat.get("Percentage") or 0)) * 100).normalize() == percent.normalize()
    ]


def _close(code: str, table: dict[str, Any]) -> list[str]:
    return difflib.get_close_matches(code, list(table), n=3, cutoff=0.5)
