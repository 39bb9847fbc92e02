"""Accounts (suppliers) and their bank accounts in the Exact sandbox.

Sourced (docs/api-facts.md, Exact: accounts): `crm/Accounts` applies mandatory filtering (a `$filter` naming one of
a list of fields); `Code` is stored right-aligned in 18 characters, `Country` left-aligned in 3; a PUT answers 204.
Decisions (ours): the accepted filter fields are `ACCOUNT_FILTER_FIELDS` (the real list is longer); a new account
without a code gets the next free number; "Mandatory: Name" and "Code already exists" are answered with HTTP 500;
a bank account (IBAN without spaces, upper case) is registered once per account.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.seed import ACCOUNT_FIELDS, account_row, pad_left, pad_right
from connector.sandbox.exact.state import Division, State, Table
from connector.sandbox.exact.validation import ACCOUNTS, is_guid, lookup, refuse_problems, refuse_unknown
from connector.sandbox.exact.wire import (
    NOT_ALLOWED,
    ApiFailure,
    Call,
    EntitySet,
    json_body,
    json_response,
    no_content,
    wants_minimal,
)

ACCOUNT_FILTER_FIELDS: tuple[str, ...] = (
    "Accountant", "AccountManager", "ChamberOfCommerce", "City", "Code", "Email", "ID", "Modified", "Name",
    "Postcode", "VATNumber",
)  # fmt: skip
BANK_ACCOUNTS = "crm/BankAccounts"
BANK_FIELDS = ("ID", "Account", "AccountName", "BankAccount", "BankAccountHolderName", "BICCode", "Main", "Division")
BANK_WRITABLE = {"Account", "BankAccount", "BankAccountHolderName", "BICCode", "Main"}
ACCOUNT_SET = EntitySet(
    ACCOUNTS, "ID", "Account", ("ID", *ACCOUNT_FIELDS, "Division", "Created", "Modified"), ACCOUNT_FILTER_FIELDS
)
BANK_SET = EntitySet(BANK_ACCOUNTS, "ID", "BankAccount", BANK_FIELDS)
Row = dict[str, Any]


class Accounts:
    """`crm/Accounts` (GET, POST, PUT) and `crm/BankAccounts` (GET, POST)."""

    sets: tuple[EntitySet, ...] = (ACCOUNT_SET, BANK_SET)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer one call on accounts or bank accounts."""
        if call.method == "GET":
            rows = division.tables[call.entity.path]
            return query.read(division.number, call.entity, rows, call.key, page_size=self.state.page_size)
        if call.method == "POST" and call.key is None:
            body = json_body()
            create = self._create_account if call.entity is ACCOUNT_SET else _create_bank_account
            row = create(division, body)
            if wants_minimal():
                return no_content()
            return json_response({"d": query.render(division.number, call.entity, row)}, 201)
        if call.method == "PUT" and call.key is not None and call.entity is ACCOUNT_SET:
            self._put_account(division, call.key, json_body())
            return no_content()
        raise ApiFailure(405, NOT_ALLOWED)

    def _create_account(self, division: Division, body: Row) -> Row:
        refuse_unknown(body, set(ACCOUNT_FIELDS), "Account")
        if not str(body.get("Name") or "").strip():
            raise ApiFailure(500, "Mandatory: Name")
        rows = division.tables[ACCOUNTS]
        code = str(body.get("Code") or "").strip() or _next_code(rows)
        if any(row["Code"].strip() == code for row in rows):
            raise ApiFailure(500, f"Code already exists: {code}")
        row = account_row(division.number, str(uuid.uuid4()), {**body, "Code": code}, self.state.now_dt())
        rows.append(row)
        return row

    def _put_account(self, division: Division, key: str, body: Row) -> None:
        row = lookup(division, ACCOUNTS, "ID", key)
        if row is None:
            raise ApiFailure(404, "Not found")
        refuse_unknown(body, set(ACCOUNT_FIELDS), "Account")
        if "Name" in body and not str(body["Name"] or "").strip():
            raise ApiFailure(500, "Mandatory: Name")
        if "Code" in body:
            code = str(body["Code"] or "").strip()
            if any(r["Code"].strip() == code and r is not row for r in division.tables[ACCOUNTS]):
                raise ApiFailure(500, f"Code already exists: {code}")
            body["Code"] = pad_left(code)
        if body.get("Country"):
            body["Country"] = pad_right(str(body["Country"]).strip())
        row.update(body, Modified=self.state.now_dt())


def _create_bank_account(division: Division, body: Row) -> Row:
    refuse_unknown(body, BANK_WRITABLE, "BankAccount")
    account = lookup(division, ACCOUNTS, "ID", body.get("Account")) if is_guid(body.get("Account")) else None
    iban = re.sub(r"\s", "", str(body.get("BankAccount") or "")).upper()
    problems = []
    if account is None:
        problems.append("Invalid reference: Account" if body.get("Account") else "Mandatory: Account")
    if not iban:
        problems.append("Mandatory: Bank account")
    rows = division.tables[BANK_ACCOUNTS]
    if account and any(r["Account"] == account["ID"] and r["BankAccount"] == iban for r in rows):
        problems.append(f"Bank account {iban} already exists for this account")
    refuse_problems(problems)
    assert account is not None
    row = {
        "ID": str(uuid.uuid4()),
        "Account": account["ID"],
        "AccountName": account["Name"],
        "BankAccount": iban,
        "BankAccountHolderName": body.get("BankAccountHolderName") or account["Name"],
        "BICCode": body.get("BICCode"),
        "Main": bool(body.get("Main", not any(r["Account"] == account["ID"] for r in rows))),
        "Division": division.number,
    }
    rows.append(row)
    return row


def _next_code(rows: Table) -> str:
    numbers = [int(row["Code"]) for row in rows if row["Code"].strip().isdigit()]
    return str(max(numbers, default=0) + 1)
