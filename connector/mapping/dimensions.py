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
from connector.mapping.problems import Problem, problem

PURCHASE_JOURNAL_TYPE = 22
DIMENSION_FIELDS = {"cost_center": "CostCenter", "cost_unit": "CostUnit"}  # the Exact line field of each
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


def plan_lines(invoice: Invoice, master: MasterData, mapping: Mapping) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Exact purchase entry lines for the invoice, and every problem found on the way (empty when clean)."""
    lines: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for row in invoice.rows:
        line, row_problems = _plan_row(row, invoice, master, mapping)
        lines.append(line)
        problems.extend(row_problems)
    return lines, problems


def journal_problems(journal: str, master: MasterData, mapping: Mapping) -> list[Problem]:
    """The tenant's purchase journal must exist in the division and be a purchase journal."""
    code = mapping.get(("journal", journal), journal)
    found = master.journals.get(code)
    if found is None:
        text = f"journal {code} does not exist in Exact division {master.division}"
        return [problem(None, "journal", journal, code, text, _close(code, master.journals))]
    if int(found.get("Type") or 0) != PURCHASE_JOURNAL_TYPE:
        purchase = [c for c, j in master.journals.items() if int(j.get("Type") or 0) == PURCHASE_JOURNAL_TYPE]
        return [problem(None, "journal", journal, code, f"journal {code} is not a purchase journal", purchase)]
    return []


def currency_problems(currency: str) -> list[Problem]:
    """The invoice currency must be an active ISO 4217 code (Exact keeps amounts in it as FC amounts)."""
    if currency in ISO_CURRENCIES:
        return []
    close = difflib.get_close_matches(currency.upper(), sorted(ISO_CURRENCIES), n=3, cutoff=0.6)
    return [problem(None, "currency", currency, None, f"{currency!r} is not an ISO 4217 currency code", close)]


def _plan_row(
    row: CodingRow, invoice: Invoice, master: MasterData, mapping: Mapping
) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    vat = _vat_code(row, master, mapping, problems)
    vat_type = str(master.vat_codes[vat].get("Type") or "") if vat is not None else "E"
    wrong_type = money.vat_type_problem(row, vat, vat_type) if vat is not None else None
    if wrong_type is not None:
        problems.append(wrong_type)
    line: dict[str, Any] = {
        **money.entry_amounts(row, vat_type),
        "Description": (row.description or invoice.description or f"Invoice {invoice.invoice_number}")[:100],
    }
    gl = _gl_account(row, master, mapping, problems)
    if gl is not None:
        line["GLAccount"] = gl
    for kind, source in (("cost_center", row.cost_center_code), ("cost_unit", row.cost_unit_code)):
        if source:
            code, found = dimension(
                row.row_index, kind, source, (invoice.invoice_date, "invoice date"), master, mapping
            )
            problems.extend(found)
            if code is not None:
                line[DIMENSION_FIELDS[kind]] = code
    if vat is not None and wrong_type is None:
        line["VATCode"] = vat
    return line, problems


def _gl_account(row: CodingRow, master: MasterData, mapping: Mapping, problems: list[Problem]) -> str | None:
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


def dimension(
    row: int | None,
    kind: str,
    source: str,
    when: tuple[date, str],
    master: MasterData,
    mapping: Mapping,
) -> tuple[str | None, list[Problem]]:
    """The Exact code for a cost center or cost unit (`kind`) on a document dated `when` (date, its name).

    The one dimension rule for every document kind: mapped or taken as it is, it must exist in the division
    and not have ended by the document date; the problems name close matches among the usable codes.
    """
    known = master.cost_centers if kind == "cost_center" else master.cost_units
    label = kind.replace("_", " ")
    on, date_name = when
    code = mapping.get((kind, source), source)
    found = known.get(code)
    usable = {c: d for c, d in known.items() if not has_ended(d, on)}
    if found is None:
        text = f"{label} {code} does not exist in Exact division {master.division}"
        return None, [problem(row, kind, source, code, text, _close(code, usable))]
    if has_ended(found, on):
        text = f"{label} {code} ended on {found['EndDate'].isoformat()}, before the {date_name} {on.isoformat()}"
        return None, [problem(row, kind, source, code, text, _close(code, usable))]
    return code, []


def has_ended(row: dict[str, Any], on: date) -> bool:
    """True when a cost center or cost unit can no longer be used on a document dated `on`.

    Decision (ours): a dimension is usable up to and including its EndDate. Exact's documentation gives no
    rule, and an end date reads as the last day in use; the sandbox refuses only an EndDate before the entry
    date. Blocking on the end date itself would stop documents Exact accepts; had Exact refused one, its
    refusal at the write would block the record all the same.
    """
    ended = row.get("EndDate")
    return isinstance(ended, date) and ended < on


def _required_dimensions(row: CodingRow, gl: dict[str, Any], problems: list[Problem]) -> None:
    """A GL account can demand a cost center or cost unit on every line booked to it."""
    for flag, value, kind, label in (
        ("UseCostcenter", row.cost_center_code, "cost_center", "cost center"),
        ("UseCostunit", row.cost_unit_code, "cost_unit", "cost unit"),
    ):
        if not value and int(gl.get(flag) or 0) == MANDATORY:
            text = f"GL account {str(gl.get('Code') or '').strip()} requires a {label}, the coding row has none"
            problems.append(problem(row.row_index, kind, None, None, text, []))


def _vat_code(row: CodingRow, master: MasterData, mapping: Mapping, problems: list[Problem]) -> str | None:
    source = row.tax_code or (percent_key(row.tax_percent) if row.tax_percent is not None else None)
    if source is None:
        missing = "the coding row has neither a tax code nor a tax percentage"
        problems.append(problem(row.row_index, "vat_code", None, None, missing))
        return None
    code = mapping.get(("vat_code", source))
    wrong = _vat_problem(row, source, code, master)
    if wrong is not None:
        problems.append(
            problem(row.row_index, "vat_code", source, code, wrong, _vat_suggestions(row.tax_percent, master))
        )
        return None
    return code


def _vat_problem(row: CodingRow, source: str, code: str | None, master: MasterData) -> str | None:
    """What is wrong with the VAT code a row maps to, or None when it may be used."""
    if code is None:
        return f"no VAT mapping for Basware tax {source}; add a vat_code mapping"
    found = master.vat_codes.get(code)
    if found is None or found.get("IsBlocked"):
        state = "does not exist" if found is None else "is blocked"
        return f"VAT code {code} {state} in Exact division {master.division}"
    exact_percent = Decimal(str(found.get("Percentage") or 0)) * 100
    if row.tax_percent is not None and exact_percent.normalize() != row.tax_percent.normalize():
        return (
            f"VAT code {code} is {percent_key(exact_percent)}% in Exact but the Basware "
            f"line says {percent_key(row.tax_percent)}%"
        )
    return None


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
