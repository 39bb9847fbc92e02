"""Read-only master data of the Exact sandbox: G/L accounts, cost centers, cost units, VAT codes and journals.

Sourced (docs/api-facts.md, Exact: master data; sync and bulk endpoints): G/L accounts also have a bulk endpoint,
`bulk/Financial/GLAccounts`, 1,000 rows a page, `$select` mandatory; cost centers, cost units, VAT codes and
journals have only the regular endpoints (60 rows a page); a VAT code carries `Type` E (excluding), I
(including), B or N. Decision (ours): the sandbox answers GET only on them, since the connector never writes
master data other than accounts.
"""

from __future__ import annotations

from flask import Response, request

import connector.sandbox.exact.query as query
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import COST_CENTERS, COST_UNITS, GL_ACCOUNTS, JOURNALS, VAT_CODES
from connector.sandbox.exact.wire import NOT_ALLOWED, ApiFailure, Call, EntitySet

_DIMENSION_FIELDS = ("ID", "Code", "Description", "EndDate", "Division")
GL_SET = EntitySet(GL_ACCOUNTS, "ID", "GLAccount", (
    "ID", "Code", "Description", "Type", "IsBlocked", "VATCode", "Costcenter", "Costunit", "UseCostcenter",
    "UseCostunit", "Division", "Modified"))  # fmt: skip
VAT_SET = EntitySet(VAT_CODES, "ID", "VATCode", (
    "ID", "Code", "Description", "Percentage", "Type", "VATTransactionType", "IsBlocked", "Division"))  # fmt: skip
BULK_GL_SET = EntitySet("bulk/Financial/GLAccounts", "ID", "GLAccount", GL_SET.fields)
BULK_PAGE = 1000
BULK_SOURCES = {BULK_GL_SET.path: GL_ACCOUNTS}
MASTER_SETS: tuple[EntitySet, ...] = (
    GL_SET,
    BULK_GL_SET,
    EntitySet(COST_CENTERS, "ID", "HRM.Costcenter", _DIMENSION_FIELDS),
    EntitySet(COST_UNITS, "ID", "HRM.Costunit", _DIMENSION_FIELDS),
    VAT_SET,
    EntitySet(JOURNALS, "ID", "Journal", ("ID", "Code", "Description", "Type", "Division")),
)


class MasterData:
    """GET on the read-only master data sets."""

    sets: tuple[EntitySet, ...] = MASTER_SETS

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer a GET; anything else is not allowed."""
        if call.method != "GET":
            raise ApiFailure(405, NOT_ALLOWED)
        source = BULK_SOURCES.get(call.entity.path)
        if source is not None:
            if not request.args.get("$select"):
                raise ApiFailure(400, "$select is mandatory on bulk endpoints")
            return query.read(division.number, call.entity, division.tables[source], call.key, page_size=BULK_PAGE)
        rows = division.tables[call.entity.path]
        return query.read(division.number, call.entity, rows, call.key, page_size=self.state.page_size)
