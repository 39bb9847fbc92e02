"""The Exact Online REST client: one division, bearer auth with one retry on 401, OData paging, typed helpers.

Every response is parsed with `connector.jsonutil` so amounts arrive as `Decimal`. HTTP failures become the
connector's exception tree here and nowhere else; Exact's habit of answering business validation with a
500 is recognised and reported as fatal, since repeating the call cannot help.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import requests

from connector import metrics
from connector.errors import APIError, DivisionOutOfScope, FatalAPIError, RateLimited, RetriableAPIError
from connector.exact import odata
from connector.exact.auth import SYSTEM, TokenManager
from connector.jsonutil import dumps, loads
from connector.transport import redirect_refused, require_secure, send

ENTRIES = "purchaseentry/PurchaseEntries"
ENTRY_LINES = "purchaseentry/PurchaseEntryLines"
ACCOUNT_SELECT = (
    "ID,Code,Name,IsSupplier,VATNumber,ChamberOfCommerce,Email,AddressLine1,Postcode,City,Country,"
    "Status,Blocked,PurchaseVATCode,Modified"
)
GL_SELECT = "ID,Code,Description,Type,IsBlocked,VATCode,Costcenter,Costunit,UseCostcenter,UseCostunit"
DIMENSION_SELECT = "ID,Code,Description,EndDate"
VAT_SELECT = "ID,Code,Description,Percentage,Type,VATTransactionType,IsBlocked"
JOURNAL_SELECT = "ID,Code,Description,Type"
ENTRY_SELECT = (
    "EntryID,EntryNumber,Journal,Supplier,EntryDate,DueDate,YourRef,Currency,Description,"
    "AmountFC,VATAmountFC,Status,Type"
)
# What the month-end reconciliation needs of an entry, and no more: fewer bytes per page on a long month.
RECONCILE_SELECT = "EntryID,EntryNumber,Journal,Supplier,EntryDate,YourRef,Currency,AmountFC"
ITEMS = "logistics/Items"
ITEM_SELECT = "ID,Code,Description,IsPurchaseItem,Unit,CostPriceStandard"
ORDERS = "purchaseorder/PurchaseOrders"
ORDER_LINES = "purchaseorder/PurchaseOrderLines"
ORDER_SELECT = "PurchaseOrderID,OrderNumber,Supplier,YourRef,OrderDate,ReceiptDate,Currency,AmountFC,OrderStatus"
BANK_SELECT = "ID,Account,BankAccount,BICCode,Main"
_MAX_OR_TERMS = 40  # one public client found 300 or-terms made "a 12kB URI" (docs/api-facts.md#exact-odata)
_TRANSIENT = {502, 503, 504}
Admitted = Callable[[], None] | None  # told when a request passed the rate check and is about to leave
Progress = Callable[[int, int | None], None]  # (records read so far, records in all, when Exact said)
_MAX_PAGES = 10_000  # a guard against a server that keeps sending the same __next


@dataclass(frozen=True)
class RateLimitInfo:
    """The X-RateLimit-* headers of the last response; resets are UTC epoch seconds."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """Parse the daily and minutely headers; absent ones stay None."""
        return cls(
            limit=_int(headers.get("X-RateLimit-Limit")),
            remaining=_int(headers.get("X-RateLimit-Remaining")),
            reset=_epoch_seconds(headers.get("X-RateLimit-Reset")),
            minutely_limit=_int(headers.get("X-RateLimit-Minutely-Limit")),
            minutely_remaining=_int(headers.get("X-RateLimit-Minutely-Remaining")),
            minutely_reset=_epoch_seconds(headers.get("X-RateLimit-Minutely-Reset")),
        )


class CallBudget(Protocol):
    """Where each counted call takes its place in Exact's rate limit before it is sent (`connector.exact.governor`)."""

    def reserve(self, division: int) -> None:
        """Take one call, or raise `RateLimited` with the moment the budget opens again."""
        ...

    def settle(self, division: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Report an answer (its X-RateLimit-* headers); after a 429, return when the budget opens again."""
        ...


class ExactClient:
    """Calls `/api/v1/{division}/…` on one Exact host with tokens from a `TokenManager`."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenManager,
        division: int | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
        on_rate_limit: Callable[[Mapping[str, str]], None] | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        require_secure(self.base_url)  # credentials never go over clear-text networks
        self._tokens = tokens
        self._division = division
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._timeout = timeout
        self._on_rate_limit = on_rate_limit
        self._budget = budget  # shared by every process using the app and division; None: no limit kept here
        self.last_rate_limit: RateLimitInfo | None = None

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ExactClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic calls -----------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The current user (`current/Me`, which takes no division)."""
        payload = self._call("GET", f"{self.base_url}/api/v1/current/Me", counted=False)
        results = odata.unwrap(payload)
        if not isinstance(results, list) or not results:
            raise FatalAPIError("current/Me returned no user", system=SYSTEM)
        return dict(results[0])

    def current_division(self) -> int:
        """The division the user last used in Exact's web UI; store it, since it follows the user."""
        division = self.me().get("CurrentDivision")
        if not isinstance(division, int) or isinstance(division, bool):
            raise FatalAPIError("current/Me has no CurrentDivision", system=SYSTEM)
        return division

    @property
    def division(self) -> int:
        """The division every call goes to (looked up once from `current/Me` if not given)."""
        if self._division is None:
            self._division = self.current_division()
        return self._division

    def get_all(
        self,
        path: str,
        *,
        filter: str | None = None,
        select: str | None = None,
        top: int | None = None,
        expand: str | None = None,
        on_page: Progress | None = None,
    ) -> list[dict[str, Any]]:
        """Every record of a collection, following the absolute `__next` links page by page.

        With `on_page` (a progress bar) the first page also brings the total (`$inlinecount=allpages`, no extra
        call), and `on_page` is told after each page how many records have been read and of how many.
        """
        count = "allpages" if on_page is not None else None
        query = _query(filter=filter, select=select, top=top, expand=expand, inlinecount=count)
        url: str | None = self._url(path, query)
        records: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            if url is None:
                return records
            payload = self._call("GET", url)
            page = odata.unwrap(payload)
            records.extend(page if isinstance(page, list) else [page])
            if on_page is not None:
                on_page(len(records), odata.total_count(payload))
            url = self._checked_next(odata.next_link(payload))
        raise FatalAPIError(f"{path}: paging did not end", system=SYSTEM)

    def get_one(self, path: str, *, select: str | None = None, expand: str | None = None) -> dict[str, Any]:
        """One entity, e.g. `purchaseentry/PurchaseEntries(guid'…')`."""
        payload = self._call("GET", self._url(path, _query(select=select, expand=expand)))
        entity = odata.unwrap(payload)
        if isinstance(entity, list):
            if not entity:
                raise FatalAPIError(f"{path}: not found", system=SYSTEM, status=404)
            entity = entity[0]
        return dict(entity)

    def post(self, path: str, body: Mapping[str, Any], *, on_admitted: Admitted = None) -> dict[str, Any]:
        """Create an entity; with `Prefer: return=representation` Exact returns it fully populated.

        `on_admitted` runs once the rate check let the request go, just before it is sent.
        """
        payload = self._call("POST", self._url(path), body, on_admitted)
        entity = odata.unwrap(payload) if payload is not None else {}
        return dict(entity) if isinstance(entity, dict) else {}

    def put(self, path: str, body: Mapping[str, Any]) -> None:
        """Update an entity; Exact answers with an empty body."""
        self._call("PUT", self._url(path), body)

    def delete(self, path: str) -> None:
        """Delete an entity, e.g. `purchaseentry/PurchaseEntryLines(guid'…')`; Exact answers with an empty body."""
        self._call("DELETE", self._url(path))

    # -- typed helpers -----------------------------------------------------------------------------

    def gl_accounts(self) -> list[dict[str, Any]]:
        """All G/L accounts of the division (codes trimmed)."""
        # The bulk endpoint pages 1,000 rows at a time (the regular one 60): a division's chart in one call.
        return odata.trim_codes(self.get_all("bulk/Financial/GLAccounts", select=GL_SELECT))

    def gl_account(self, gl_id: str) -> dict[str, Any] | None:
        """One G/L account by ID (code trimmed), or None when the division has none by that ID."""
        found = self.get_all("financial/GLAccounts", filter=f"ID eq {odata.guid(gl_id)}", select=GL_SELECT)
        return odata.trim_codes(found)[0] if found else None

    def cost_centers(self) -> list[dict[str, Any]]:
        """All cost centers, including ended ones (check `EndDate`)."""
        return odata.trim_codes(self.get_all("hrm/Costcenters", select=DIMENSION_SELECT))

    def cost_units(self) -> list[dict[str, Any]]:
        """All cost units."""
        return odata.trim_codes(self.get_all("hrm/Costunits", select=DIMENSION_SELECT))

    def vat_codes(self) -> list[dict[str, Any]]:
        """All VAT codes; `Percentage` is a fraction (0.21), `Code` trimmed of Exact's padding."""
        return odata.trim_codes(self.get_all("vat/VATCodes", select=VAT_SELECT))

    def journals(self) -> list[dict[str, Any]]:
        """All journals (Type 22 = purchase)."""
        return odata.trim_codes(self.get_all("financial/Journals", select=JOURNAL_SELECT))

    def divisions(self) -> list[dict[str, Any]]:
        """The divisions the grant can reach (`system/Divisions`): Code (the number), Description, Current."""
        return self.get_all("system/Divisions", select="Code,Description,Current")

    def find_accounts(self, filter: str) -> list[dict[str, Any]]:
        """Accounts matching an OData filter (Exact demands one on Code, ID, Name, VATNumber, …)."""
        return odata.trim_codes(self.get_all("crm/Accounts", filter=filter, select=ACCOUNT_SELECT))

    def find_supplier_by_code(self, code: str | int) -> dict[str, Any] | None:
        """The supplier with this account code (padded to 18 for the filter), or None."""
        padded = odata.pad_account_code(code)
        found = self.find_accounts(f"Code eq {odata.string(padded)} and IsSupplier eq true")
        return found[0] if found else None

    def create_account(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create an Account (Name is mandatory) and return it as Exact stored it."""
        return odata.trim_codes(self.post("crm/Accounts", fields))

    def find_purchase_entries(self, supplier_id: str, your_ref: str) -> list[dict[str, Any]]:
        """Entries of this supplier with this YourRef: the idempotency check before creating one."""
        query = f"Supplier eq {odata.guid(supplier_id)} and YourRef eq {odata.string(your_ref)}"
        return odata.trim_codes(self.get_all(ENTRIES, filter=query, select=ENTRY_SELECT))

    def purchase_entries_between(
        self, journal: str, first: date, last: date, *, on_page: Progress | None = None
    ) -> list[dict[str, Any]]:
        """The entries of one journal dated `first` to `last` (inclusive): one filtered call per 60 entries."""
        query = (
            f"Journal eq {odata.string(journal)} and EntryDate ge datetime'{first.isoformat()}' "
            f"and EntryDate le datetime'{last.isoformat()}'"
        )
        return odata.trim_codes(self.get_all(ENTRIES, filter=query, select=RECONCILE_SELECT, on_page=on_page))

    def create_purchase_entry(self, payload: Mapping[str, Any], *, on_admitted: Admitted = None) -> dict[str, Any]:
        """Post a purchase entry with its lines; returns the created entry (EntryID, EntryNumber, …)."""
        return odata.trim_codes(self.post(ENTRIES, payload, on_admitted=on_admitted))

    def update_purchase_entry(self, entry_id: str, payload: Mapping[str, Any]) -> None:
        """Change an entry's header (and its existing lines) in place."""
        self.put(f"{ENTRIES}({odata.guid(entry_id)})", payload)

    def get_purchase_entry(self, entry_id: str) -> dict[str, Any]:
        """One purchase entry with its lines expanded (to verify what Exact kept)."""
        path = f"{ENTRIES}({odata.guid(entry_id)})"
        return odata.trim_codes(self.get_one(path, expand="PurchaseEntryLines"))

    def add_purchase_entry_line(self, entry_id: str, fields: Mapping[str, Any]) -> str:
        """Add a line to an existing entry (Exact takes new lines only this way); returns the line's ID."""
        created = self.post(ENTRY_LINES, {**fields, "EntryID": entry_id})
        return str(created["ID"])

    def update_purchase_entry_line(self, line_id: str, fields: Mapping[str, Any]) -> None:
        """Change one line of an entry by its ID."""
        self.put(f"{ENTRY_LINES}({odata.guid(line_id)})", fields)

    def delete_purchase_entry_line(self, line_id: str) -> None:
        """Remove one line of an entry by its ID."""
        self.delete(f"{ENTRY_LINES}({odata.guid(line_id)})")

    # -- transport ---------------------------------------------------------------------------------

    def _url(self, path: str, query: str = "") -> str:
        base = f"{self.base_url}/api/v1/{self.division}/{path.lstrip('/')}"
        return f"{base}?{query}" if query else base

    def _checked_next(self, link: str | None) -> str | None:
        # The bearer token goes wherever the next link points, so it must stay on our Exact host.
        if link is None:
            return None
        if _origin(link) != _origin(self.base_url):
            raise FatalAPIError("Exact sent a next link to another host; refusing to follow", system=SYSTEM)
        return link

    def _call(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        on_admitted: Admitted = None,
        *,
        counted: bool = True,
    ) -> Any:
        # Calls without a division (current/Me) are not counted by Exact, so they take nothing from the budget.
        budget = self._budget if counted else None
        token = self._tokens.access_token()  # before reserving: a slow refresh must not carry a call past its window
        if budget is not None:
            budget.reserve(self.division)
        if on_admitted is not None:  # from here on the request may reach Exact
            on_admitted()
        response = self._send(method, url, token, body)
        if response.status_code == 401:
            token = self._tokens.force_refresh(token)
            response = self._send(method, url, token, body)
            if response.status_code == 401:  # a token just issued refused: Exact's side, not the record's
                raise RetriableAPIError(
                    f"{method} {_path(url)} refused a fresh access token", system=SYSTEM, status=401
                )
        self._note_rate_limit(response.headers)
        opens = budget.settle(self.division, response.status_code, response.headers) if budget is not None else None
        error = classify(method, response.status_code, response.headers, response.content, opens_at=opens)
        if error is not None:
            raise error
        return loads(response.content) if response.content else None

    def _send(self, method: str, url: str, token: str, body: Mapping[str, Any] | None) -> requests.Response:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Prefer": "return=representation",
            "Authorization": f"Bearer {token}",
        }
        data = dumps(body) if body is not None else None
        with metrics.timed_call(SYSTEM, method, url) as call:
            try:
                response = send(
                    self._session,
                    method,
                    url,
                    deadline=self._timeout,
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                )
            except requests.Timeout:
                raise RetriableAPIError(f"{method} {_path(url)} timed out", system=SYSTEM) from None
            except requests.RequestException as exc:
                message = f"{method} {_path(url)} failed: {type(exc).__name__}"
                raise RetriableAPIError(message, system=SYSTEM) from None
            call.status = response.status_code
        if response.is_redirect:  # the bearer token and the body stay on our Exact host
            raise redirect_refused(response, SYSTEM)
        return response

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        if "X-RateLimit-Limit" in headers or "X-RateLimit-Minutely-Limit" in headers:
            self.last_rate_limit = RateLimitInfo.from_headers(headers)
        if self._on_rate_limit is not None:
            self._on_rate_limit(headers)

    # -- items, purchase orders, supplier upkeep ---------------------------------------------------

    def find_items(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        """Items with these codes (Items demands a filter), asked in batches so the URL stays short."""
        wanted = sorted({code.strip() for code in codes if code and code.strip()})
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _MAX_OR_TERMS):
            batch = wanted[start : start + _MAX_OR_TERMS]
            condition = " or ".join(f"Code eq {odata.string(code)}" for code in batch)
            found.extend(self.get_all(ITEMS, filter=condition, select=ITEM_SELECT))
        return odata.trim_codes(found)

    def find_purchase_orders(self, supplier_id: str, your_ref: str) -> list[dict[str, Any]]:
        """Purchase orders of this supplier with this YourRef: the idempotency check before creating one."""
        query = f"Supplier eq {odata.guid(supplier_id)} and YourRef eq {odata.string(your_ref)}"
        return odata.trim_codes(self.get_all(ORDERS, filter=query, select=ORDER_SELECT))

    def create_purchase_order(self, payload: Mapping[str, Any], *, on_admitted: Admitted = None) -> dict[str, Any]:
        """Post a purchase order with its lines; returns the created order (PurchaseOrderID, OrderNumber, …)."""
        return odata.trim_codes(self.post(ORDERS, payload, on_admitted=on_admitted))

    def update_purchase_order(self, order_id: str, header: Mapping[str, Any]) -> None:
        """Change an order's header (no lines: those go one by one)."""
        self.put(f"{ORDERS}({odata.guid(order_id)})", header)

    def update_purchase_order_line(self, line_id: str, fields: Mapping[str, Any]) -> None:
        """Change one line of an order by its ID."""
        self.put(f"{ORDER_LINES}({odata.guid(line_id)})", fields)

    def delete_purchase_order_line(self, line_id: str) -> None:
        """Remove one line of an order by its ID (Exact keeps at least one line on an order)."""
        self.delete(f"{ORDER_LINES}({odata.guid(line_id)})")

    def get_purchase_order(self, order_id: str) -> dict[str, Any]:
        """One purchase order with its lines expanded."""
        return odata.trim_codes(self.get_one(f"{ORDERS}({odata.guid(order_id)})", expand="PurchaseOrderLines"))

    def update_account(self, account_id: str, fields: Mapping[str, Any]) -> None:
        """Change fields of an Account (PUT sends only what changes; Exact answers with no body)."""
        self.put(f"crm/Accounts({odata.guid(account_id)})", fields)

    def bank_accounts(self, account_id: str) -> list[dict[str, Any]]:
        """The bank accounts registered on an Account."""
        return self.get_all("crm/BankAccounts", filter=f"Account eq {odata.guid(account_id)}", select=BANK_SELECT)

    def create_bank_account(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Register a bank account (Account guid, BankAccount IBAN, BICCode) and return it."""
        return self.post("crm/BankAccounts", fields)


# Exact's words when a published app calls a division the consenting user did not tick (docs/api-facts.md).
OUT_OF_SCOPE = "not within division scope"


def classify(
    method: str, status: int, headers: Mapping[str, str], content: bytes, *, opens_at: float | None = None
) -> APIError | None:
    """The exception an Exact response stands for, or None for success (a pure status classifier).

    `opens_at` is when the rate-limit budget opens again after a 429, if the caller keeps one.
    """
    if status < 400:
        return None
    message = _error_text(content) or f"HTTP {status}"
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "body": content}
    if status == 429:
        when = opens_at if opens_at is not None else retry_at(headers)
        return RateLimited(f"rate limit reached: {message}", retry_at=when, **common)
    if status == 500 and method in ("POST", "PUT") and _error_text(content):
        # Exact reports business validation (Mandatory: …, Invalid reference: …) as a 500.
        return FatalAPIError(message, **common)
    if status >= 500 or status in _TRANSIENT:
        return RetriableAPIError(message, **common)
    reason = headers.get("Reason")
    if reason:
        message = f"{message} (Reason: {reason})"
    if status == 403 and OUT_OF_SCOPE in message.lower():
        return DivisionOutOfScope(message, **common)
    return FatalAPIError(message, **common)


def retry_at(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float:
    """When a 429 may be retried: the minutely reset if sent, else the daily one, else a minute from now."""
    for name in ("X-RateLimit-Minutely-Reset", "X-RateLimit-Reset"):
        value = _epoch_seconds(headers.get(name))
        if value is not None:
            return value
    return now() + 60


def _error_text(content: bytes) -> str:
    if not content:
        return ""
    try:
        text = odata.error_message(loads(content))
    except ValueError:
        return ""
    # Exact separates validation messages with \r\n; keep them apart but on one log line.
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _query(**options: Any) -> str:
    """`$option=value` pairs, percent-encoded (spaces as %20, which every OData server reads)."""
    parts = [f"${name}={quote(str(value), safe=',()')}" for name, value in options.items() if value is not None]
    return "&".join(parts)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _epoch_seconds(value: str | None) -> float | None:
    number = _int(value)
    return number / 1000 if number is not None else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _path(url: str) -> str:
    return urlsplit(url).path
