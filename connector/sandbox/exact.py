"""A faithful local Exact Online: OAuth with rotating refresh tokens, OData lists, rate limits, faults.

It follows /work/shared/reference/exact-online.md §8. Behaviour the reference marks UNCONFIRMED and that the
sandbox has to pick is listed here so nobody mistakes it for a fact about Exact:

- Only the newest access token of a grant is valid: a refresh revokes the previous access token (flowgear).
- An API call with a missing, expired or revoked token answers 401 with an OData error body.
- Text comparisons in `$filter` are case-insensitive (SQL Server's default collation).
- `crm/Accounts` accepts any filter that mentions at least one of `ACCOUNT_FILTER_FIELDS`.
- PurchaseEntry validation texts beyond "Mandatory: Relationship", "Mandatory: Diary" and "Invalid reference:
  Cost unit" (picqer#325) are made up in the same style; so is the duplicate-entry text.
- A blocked G/L account, a blocked VAT code and a cost center whose EndDate lies before the entry date
  are refused.
- A header `AmountFC`/`VATAmountFC` sent on POST is ignored: Exact computes them from the lines.
- Amounts in the division currency equal those in the entry currency (rate 1).
- `current/Me` does not count against the per-division rate limits.
- Unknown properties in a POST/PUT body or in `$select` answer 400.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, redirect, request

from connector.jsonutil import dumps, loads
from connector.sandbox import exact_seed as seed

# ---------------------------------------------------------------------------------------------------
# OData $filter: a small recursive-descent parser producing a predicate over internal rows.
# ---------------------------------------------------------------------------------------------------

SYNTAX_ERROR = "Bad Request - Error in query syntax."

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:guid|datetime|datetimeoffset)'(?:[^']|'')*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?[LlMmDd]?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_COMPARE = {"eq", "ne", "gt", "lt", "ge", "le"}


class QueryError(Exception):
    """A query option the sandbox (like Exact) refuses with 400."""


Row = dict[str, Any]
Getter = Callable[[Row], Any]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(SYNTAX_ERROR)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class FilterParser:
    """Parse `$filter` into a predicate; `fields` is the set of property names the entity has."""

    def __init__(self, text: str, fields: set[str]) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0
        self._fields = fields
        self.referenced: set[str] = set()

    def parse(self) -> Callable[[Row], bool]:
        """The predicate for the whole expression; raises QueryError on anything unknown."""
        predicate = self._or()
        if self._pos != len(self._tokens):
            raise QueryError(SYNTAX_ERROR)
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise QueryError(SYNTAX_ERROR)
        self._pos += 1
        return token

    def _accept_word(self, word: str) -> bool:
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() == word:
            self._pos += 1
            return True
        return False

    def _expect(self, punct: str) -> None:
        if self._take() != ("punct", punct):
            raise QueryError(SYNTAX_ERROR)

    def _or(self) -> Callable[[Row], bool]:
        left = self._and()
        while self._accept_word("or"):
            right = self._and()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
        return left

    def _and(self) -> Callable[[Row], bool]:
        left = self._unary()
        while self._accept_word("and"):
            right = self._unary()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
        return left

    def _unary(self) -> Callable[[Row], bool]:
        if self._accept_word("not"):
            inner = self._unary()
            return lambda row: not inner(row)
        if self._peek() == ("punct", "("):
            self._take()
            inner = self._or()
            self._expect(")")
            return self._maybe_compare(lambda row: inner(row))
        return self._comparison()

    def _comparison(self) -> Callable[[Row], bool]:
        left = self._operand()
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() in _COMPARE:
            self._take()
            right = self._operand()
            return _compare(token[1].lower(), left, right)
        return lambda row: left(row) is True  # a bare boolean function such as substringof(...)

    def _maybe_compare(self, inner: Callable[[Row], bool]) -> Callable[[Row], bool]:
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() in _COMPARE:
            self._take()
            return _compare(token[1].lower(), inner, self._operand())
        return inner

    def _operand(self) -> Getter:
        kind, text = self._take()
        if kind == "typed":
            return _constant(_typed_literal(text))
        if kind == "string":
            return _constant(text[1:-1].replace("''", "'"))
        if kind == "number":
            return _constant(_number(text))
        if kind == "name":
            return self._name(text)
        raise QueryError(SYNTAX_ERROR)

    def _name(self, text: str) -> Getter:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return _constant(lowered == "true")
        if lowered == "null":
            return _constant(None)
        if self._peek() == ("punct", "("):
            return self._function(lowered)
        if text not in self._fields:
            raise QueryError(SYNTAX_ERROR)
        self.referenced.add(text)
        return lambda row: row.get(text)

    def _function(self, name: str) -> Getter:
        self._expect("(")
        args = [self._operand()]
        while self._peek() == ("punct", ","):
            self._take()
            args.append(self._operand())
        self._expect(")")
        return _function(name, args)


def _function(name: str, args: list[Getter]) -> Getter:
    unary: dict[str, Callable[[str], str]] = {"trim": str.strip, "tolower": str.lower, "toupper": str.upper}
    if name in unary and len(args) == 1:
        fn, arg = unary[name], args[0]
        return lambda row: fn(arg(row)) if isinstance(arg(row), str) else arg(row)
    if name in ("substringof", "startswith", "endswith") and len(args) == 2:
        return _text_function(name, args[0], args[1])
    raise QueryError(SYNTAX_ERROR)


def _text_function(name: str, first: Getter, second: Getter) -> Getter:
    def evaluate(row: Row) -> bool:
        a, b = first(row), second(row)
        if not isinstance(a, str) or not isinstance(b, str):
            return False
        a, b = a.lower(), b.lower()
        if name == "substringof":  # substringof('needle', Field)
            return a in b
        return a.startswith(b) if name == "startswith" else a.endswith(b)

    return evaluate


def _constant(value: Any) -> Getter:
    return lambda row: value


def _number(text: str) -> Decimal:
    return Decimal(text.rstrip("LlMmDd"))


def _typed_literal(text: str) -> Any:
    prefix, _, quoted = text.partition("'")
    value = quoted[:-1].replace("''", "'")
    if prefix.lower() == "guid":
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise QueryError(SYNTAX_ERROR) from exc
    return parse_iso_datetime(value, error=QueryError(SYNTAX_ERROR))


def _comparable(value: Any) -> Any:
    # SQL Server's default collation compares text case-insensitively; GUIDs compare as values.
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    return value


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
}


def _compare(op: str, left: Getter, right: Getter) -> Callable[[Row], bool]:
    fn = _OPERATORS[op]

    def evaluate(row: Row) -> bool:
        a, b = _comparable(left(row)), _comparable(right(row))
        if a is None or b is None:
            return fn(a, b) if op in ("eq", "ne") else False
        try:
            return bool(fn(a, b))
        except TypeError:
            return False

    return evaluate


def parse_iso_datetime(value: str, *, error: Exception) -> datetime:
    """'YYYY-MM-DD' or an ISO timestamp (optionally with Z or an offset) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise error from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------
# Entity sets, wire format and errors
# ---------------------------------------------------------------------------------------------------

ACCOUNT_FILTER_FIELDS: tuple[str, ...] = (
    "Accountant",
    "AccountManager",
    "ChamberOfCommerce",
    "City",
    "Code",
    "Email",
    "ID",
    "Modified",
    "Name",
    "Postcode",
    "VATNumber",
)
MANDATORY_FILTER_MESSAGE = (
    "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter "
    "parameter with one of the following fields in the url:" + ",".join(ACCOUNT_FILTER_FIELDS) + "."
)
ENTRY_FIELDS: tuple[str, ...] = (
    "EntryID", "EntryNumber", "Journal", "Supplier", "EntryDate", "DueDate", "YourRef", "Currency",
    "Description", "PaymentCondition", "AmountFC", "AmountDC", "VATAmountFC", "VATAmountDC", "Status",
    "Type", "ReportingYear", "ReportingPeriod", "Division", "Created", "Modified",
)  # fmt: skip
LINE_FIELDS: tuple[str, ...] = (
    "ID", "EntryID", "LineNumber", "GLAccount", "GLAccountCode", "AmountFC", "AmountDC", "VATAmountFC",
    "VATAmountDC", "VATCode", "VATPercentage", "CostCenter", "CostUnit", "Description", "Quantity",
    "Project", "Division",
)  # fmt: skip
ENTRY_HEADER = ("Journal", "Supplier", "EntryDate", "DueDate", "YourRef", "Currency", "Description",
                "PaymentCondition")  # fmt: skip
# A header AmountFC/VATAmountFC is accepted and ignored: Exact computes them from the lines.
ENTRY_WRITABLE = {*ENTRY_HEADER, "PurchaseEntryLines", "AmountFC", "VATAmountFC"}
LINE_WRITABLE = {"GLAccount", "AmountFC", "VATCode", "VATAmountFC", "CostCenter", "CostUnit",
                 "Description", "Quantity", "Project", "LineNumber"}  # fmt: skip
ENTRIES = "purchaseentry/PurchaseEntries"
LINES_NAV = "PurchaseEntryLines"
STATUS_OPEN = 20
DUPLICATE_MESSAGE = (
    "Duplicate: an entry for this supplier with the same Your ref., invoice date and amount already exists."
)


@dataclass(frozen=True)
class EntitySet:
    """One `/api/v1/{division}/{path}` collection: its key, OData type and properties."""

    path: str
    key: str
    type_name: str
    fields: tuple[str, ...]
    mandatory_filter: tuple[str, ...] = ()
    navigation: str | None = None


_DIMENSION_FIELDS = ("ID", "Code", "Description", "EndDate", "Division")
_ENTITY_SETS = [
    EntitySet(
        "crm/Accounts", "ID", "Account", ("ID", *seed.ACCOUNT_FIELDS, "Division", "Created", "Modified"),
        ACCOUNT_FILTER_FIELDS,
    ),
    EntitySet("financial/GLAccounts", "ID", "GLAccount", (
        "ID", "Code", "Description", "Type", "IsBlocked", "VATCode", "Costcenter", "Costunit",
        "UseCostcenter", "UseCostunit", "Division", "Modified")),
    EntitySet("hrm/Costcenters", "ID", "HRM.Costcenter", _DIMENSION_FIELDS),
    EntitySet("hrm/Costunits", "ID", "HRM.Costunit", _DIMENSION_FIELDS),
    EntitySet("vat/VATCodes", "ID", "VATCode", (
        "ID", "Code", "Description", "Percentage", "Type", "VATTransactionType", "IsBlocked", "Division")),
    EntitySet("financial/Journals", "ID", "Journal", ("ID", "Code", "Description", "Type", "Division")),
    EntitySet(ENTRIES, "EntryID", "PurchaseEntry", ENTRY_FIELDS, navigation=LINES_NAV),
]  # fmt: skip
ENTITY_SETS: dict[str, EntitySet] = {entity.path.lower(): entity for entity in _ENTITY_SETS}
_RESOURCE = re.compile(r"^(?P<set>[A-Za-z]+/[A-Za-z]+)(?:\(guid'(?P<key>[0-9A-Fa-f-]{36})'\))?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def wire_date(value: datetime) -> str:
    """Exact's `/Date(epoch ms)/` form."""
    return f"/Date({(value - _EPOCH) // timedelta(milliseconds=1)})/"


def _wire(value: Any) -> Any:
    return wire_date(value) if isinstance(value, datetime) else value


def odata_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An OData v3 error body, as every API (non-token) error carries."""
    body = {"error": {"code": "", "message": {"lang": "", "value": message}}}
    return json_response(body, status, headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON written with jsonutil so Decimals stay exact."""
    return Response(dumps(body), status=status, headers=headers or {}, mimetype="application/json")


class ApiFailure(Exception):
    """Raised inside a handler to answer with an OData error."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# ---------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------


@dataclass
class Faults:
    """Injected failures: the next N API calls answer 503 / 429 / a dropped connection; delay per call."""

    delay: float = 0.0
    error_5xx_count: int = 0
    rate_limit_count: int = 0
    drop_count: int = 0

    def take(self) -> str | None:
        """Consume one pending fault, drop first, then 5xx, then 429."""
        for name in ("drop_count", "error_5xx_count", "rate_limit_count"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return name
        return None


@dataclass
class Grant:
    """The one user's consent for one client: the newest tokens and every refresh token ever used."""

    client_id: str
    access_token: str
    access_issued_at: float
    refresh_token: str
    refresh_issued_at: float
    used_refresh_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class Client:
    """A registered app."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class Division:
    """One company: rows per entity set and entry-number counters per journal."""

    number: int
    tables: dict[str, list[dict[str, Any]]]
    entry_numbers: dict[str, int] = field(default_factory=dict)
    accessible: bool = True


@dataclass
class Window:
    """Fixed-window call counters for one (client, division)."""

    minute_start: int = 0
    minute_count: int = 0
    day_start: int = 0
    day_count: int = 0


# ---------------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------------


class ExactSandbox:
    """A local Exact Online. `app` is its WSGI app; every public method is safe across threads."""

    def __init__(
        self,
        *,
        access_token_lifetime: float = 600,
        min_refresh_age: float = 570,
        refresh_token_lifetime: float = 30 * 86400,
        minute_limit: int = 60,
        day_limit: int = 5000,
        page_size: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_token_lifetime = access_token_lifetime
        self.min_refresh_age = min_refresh_age
        self.refresh_token_lifetime = refresh_token_lifetime
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.page_size = page_size
        self.clock = clock
        self.clock_offset = 0.0
        self.faults = Faults()
        self.token_calls = 0
        self.token_log: list[tuple[str, bool, str | None]] = []
        self.api_calls: Counter[int] = Counter()
        self.me_calls = 0
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> (client id, redirect uri, issued at)
        self._grants: dict[str, Grant] = {}
        self._divisions: dict[int, Division] = {}
        self._windows: dict[tuple[str, int], Window] = {}
        self.app = self._create_app()
        from connector.sandbox.exact_orders import OrdersApi  # late: it builds on this module

        self.orders = OrdersApi(self)  # items, purchase orders, bank accounts, account updates
        self.orders.register(self.app)

    # -- set-up and inspection ---------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox's idea of the time: the injected clock plus any `advance()`."""
        return self.clock() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward (for a sandbox run in another process)."""
        with self._lock:
            self.clock_offset += seconds

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Register an app that may ask for consent."""
        with self._lock:
            self._clients[client_id] = Client(client_id, client_secret, redirect_uri)

    def add_division(self, division: int = 100001, *, seed: bool = True) -> int:
        """Create a company the demo user can access, with master data unless `seed=False`."""
        with self._lock:
            tables = _seed_tables(division, self._now_dt()) if seed else {}
            for entity in ENTITY_SETS.values():
                tables.setdefault(entity.path, [])
            self.orders.seed(division, tables, with_items=seed)
            self._divisions[division] = Division(division, tables)
            return division

    def deny_division(self, division: int) -> None:
        """Take the user's access to a division away (403 NoDivisionAccess)."""
        with self._lock:
            self._divisions[division].accessible = False

    def set_faults(
        self, delay: float = 0.0, error_5xx_count: int = 0, rate_limit_count: int = 0, drop_count: int = 0
    ) -> None:
        """Make the next API calls fail: 503s, 429s, dropped connections, and a delay per call."""
        with self._lock:
            self.faults = Faults(delay, error_5xx_count, rate_limit_count, drop_count)

    def revoke_grant(self, client_id: str | None = None) -> None:
        """The user revoked the app: its refresh token now answers 400 invalid_request."""
        with self._lock:
            for grant in self._grants.values():
                if client_id is None or grant.client_id == client_id:
                    grant.revoked = True

    def purchase_entries(self, division: int) -> list[dict[str, Any]]:
        """Every stored entry with its lines, amounts as Decimal, dates as datetimes."""
        with self._lock:
            return [_copy_entry(row) for row in self._division(division).tables[ENTRIES]]

    def accounts(self, division: int) -> list[dict[str, Any]]:
        """Every Account row as stored (Code padded to 18)."""
        with self._lock:
            return [dict(row) for row in self._division(division).tables["crm/Accounts"]]

    def rows(self, division: int, path: str) -> list[dict[str, Any]]:
        """The stored rows of any entity set (internal form)."""
        with self._lock:
            return [dict(row) for row in self._division(division).tables[path]]

    def set_entry_status(self, division: int, entry_id: str, status: int) -> None:
        """Change an entry's status, e.g. to 50 (processed) so it can no longer be updated."""
        with self._lock:
            self._find_entry(division, entry_id)["Status"] = status

    def state(self) -> dict[str, Any]:
        """A JSON-friendly summary for `/_sandbox/state`."""
        with self._lock:
            return {
                "divisions": sorted(self._divisions),
                "purchase_entries": {str(n): len(d.tables[ENTRIES]) for n, d in self._divisions.items()},
                "api_calls": {str(n): count for n, count in self.api_calls.items()},
                "me_calls": self.me_calls,
                "token_calls": self.token_calls,
                "token_log": [list(event) for event in self.token_log],
                "faults": {name: str(value) for name, value in asdict(self.faults).items()},
                "clock": str(self.now()),
            }

    def _now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def _division(self, number: int) -> Division:
        return self._divisions[number]

    def _find_entry(self, division: int, entry_id: str) -> dict[str, Any]:
        for row in self._division(division).tables[ENTRIES]:
            if row["EntryID"] == entry_id.lower():
                return row
        raise KeyError(entry_id)

    # -- the WSGI app ------------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/api/oauth2/auth", view_func=self._authorize, methods=["GET"])
        app.add_url_rule("/api/oauth2/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/api/v1/current/Me", view_func=self._me, methods=["GET"])
        app.add_url_rule(
            "/api/v1/<int:division>/<path:resource>",
            view_func=self._api,
            methods=["GET", "POST", "PUT", "DELETE"],
        )
        app.add_url_rule("/_sandbox/faults", view_func=self._admin_faults, methods=["POST"])
        app.add_url_rule("/_sandbox/state", view_func=self._admin_state, methods=["GET"])
        app.add_url_rule("/_sandbox/purchase-entries", view_func=self._admin_entries, methods=["GET"])
        app.add_url_rule("/_sandbox/clients", view_func=self._admin_clients, methods=["POST"])
        app.add_url_rule("/_sandbox/divisions", view_func=self._admin_divisions, methods=["POST"])
        app.add_url_rule("/_sandbox/advance", view_func=self._admin_advance, methods=["POST"])
        app.add_url_rule("/_sandbox/revoke", view_func=self._admin_revoke, methods=["POST"])
        app.register_error_handler(404, lambda _: odata_error(404, "Not found"))
        app.register_error_handler(405, lambda _: odata_error(405, "Method not allowed"))
        return app

    # -- OAuth ---------------------------------------------------------------------------------------

    def _authorize(self) -> Response:
        args = request.args
        with self._lock:
            client = self._clients.get(args.get("client_id", ""))
            if client is None or args.get("redirect_uri") != client.redirect_uri:
                return json_response({"error": "invalid_request", "error_description": "Unknown client"}, 400)
            if args.get("response_type") != "code":
                return json_response({"error": "unsupported_response_type"}, 400)
            code = "!" + secrets.token_urlsafe(24)  # never "-" first: pasted after --code it would read as an option
            self._codes[code] = (client.client_id, client.redirect_uri, self.now())
        query = {"code": code}
        if "state" in args:
            query["state"] = args["state"]
        separator = "&" if "?" in client.redirect_uri else "?"
        return redirect(client.redirect_uri + separator + urlencode(query), 302)  # type: ignore[return-value]

    def _token(self) -> Response:
        form = request.form
        grant_type = form.get("grant_type", "")
        kind = "code" if grant_type == "authorization_code" else "refresh"
        with self._lock:
            self.token_calls += 1
            status, body, headers = self._token_answer(grant_type, form)
            error = None if status == 200 else f"{body.get('error')}: {body.get('error_description', '')}"
            self.token_log.append((kind, status == 200, error))
        return json_response(body, status, {"Cache-Control": "no-store", **headers})

    def _token_answer(self, grant_type: str, form: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        client = self._clients.get(form.get("client_id", ""))
        if client is None or not secrets.compare_digest(form.get("client_secret", ""), client.client_secret):
            return 401, {"error": "invalid_client"}, {}
        if grant_type == "authorization_code":
            return self._exchange_code(client, form.get("code", ""), form.get("redirect_uri", ""))
        if grant_type == "refresh_token":
            return self._refresh(client, form.get("refresh_token", ""))
        return 400, {"error": "unsupported_grant_type"}, {}

    def _exchange_code(self, client: Client, code: str, redirect_uri: str) -> tuple[int, dict, dict]:
        issued = self._codes.pop(code, None)  # single use: a second exchange finds nothing
        if issued is None or issued[0] != client.client_id or issued[1] != redirect_uri:
            return 400, {"error": "invalid_grant"}, {}
        if self.now() - issued[2] > 600:
            return 400, {"error": "invalid_grant", "error_description": "Authorization code expired"}, {}
        now = self.now()
        grant = Grant(client.client_id, _new_token("AAEA"), now, _new_token("__1P!I"), now)
        self._grants[client.client_id] = grant
        return 200, self._token_body(grant), {}

    def _refresh(self, client: Client, refresh_token: str) -> tuple[int, dict, dict]:
        grant = self._grants.get(client.client_id)
        now = self.now()
        if grant is None:
            return 400, {"error": "invalid_request"}, {}
        if grant.revoked:
            return 400, {"error": "invalid_request", "error_description": "The grant has been revoked."}, {}
        if refresh_token in grant.used_refresh_tokens:
            return 401, {"error": "unauthorized_client", "error_description": "Old refresh token used."}, {}
        if refresh_token != grant.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Unknown refresh token."}, {}
        expires = grant.refresh_issued_at + self.refresh_token_lifetime
        if now >= expires:
            return 400, {"error": "invalid_request", "error_description": _expired_text(expires, now)}, {}
        if now - grant.access_issued_at < self.min_refresh_age:
            text = "Rate limit exceeded: access_token not expired"
            reason = {"Reason": f"TooEarlyToRefreshTokens: {text}"}
            return 400, {"error": "access_denied", "error_description": text}, reason
        grant.used_refresh_tokens.add(grant.refresh_token)
        grant.access_token, grant.access_issued_at = _new_token("AAEA"), now
        grant.refresh_token, grant.refresh_issued_at = _new_token("__1P!I"), now
        return 200, self._token_body(grant), {}

    def _token_body(self, grant: Grant) -> dict[str, Any]:
        return {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": str(int(self.access_token_lifetime)),
            "refresh_token": grant.refresh_token,
        }

    # -- API gate: faults, authentication, division access, rate limits ---------------------------

    def _gate(self) -> Grant:
        """Apply faults and authentication to one API call; raises ApiFailure to answer early."""
        with self._lock:
            delay, fault = self.faults.delay, self.faults.take()
        if delay:
            time.sleep(delay)
        if fault == "drop_count":
            _drop_connection()
            raise ApiFailure(503, "Service Unavailable")
        if fault == "error_5xx_count":
            raise ApiFailure(503, "Service Unavailable")
        if fault == "rate_limit_count":
            raise ApiFailure(429, "API rate limit exceeded.", self._minutely_headers(Window(), full=True))
        return self._authenticate()

    def _authenticate(self) -> Grant:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header[:7].lower() == "bearer " else ""
        with self._lock:
            for grant in self._grants.values():
                if token and secrets.compare_digest(token, grant.access_token) and not grant.revoked:
                    if self.now() < grant.access_issued_at + self.access_token_lifetime:
                        return grant
        challenge = {"WWW-Authenticate": 'Bearer realm="Exact Online"'}
        raise ApiFailure(401, "Unauthorized: access token missing, expired or revoked.", challenge)

    def _check_division(self, number: int) -> Division:
        division = self._divisions.get(number)
        if division is None or not division.accessible:
            raise ApiFailure(403, "Forbidden", {"Reason": "NoDivisionAccess"})
        return division

    def _count_call(self, client_id: str, number: int) -> dict[str, str]:
        """Count one call against the minute and day windows; raise 429 past either limit."""
        window = self._windows.setdefault((client_id, number), Window())
        now = self.now()
        minute, day = int(now // 60) * 60, int(now // 86400) * 86400
        if window.minute_start != minute:
            window.minute_start, window.minute_count = minute, 0
        if window.day_start != day:
            window.day_start, window.day_count = day, 0
        if window.minute_count >= self.minute_limit:
            raise ApiFailure(429, "API rate limit exceeded.", self._minutely_headers(window))
        if window.day_count >= self.day_limit:
            raise ApiFailure(429, "API rate limit exceeded.", self._daily_headers(window))
        window.minute_count += 1
        window.day_count += 1
        return {**self._daily_headers(window), **self._minutely_headers(window)}

    def _minutely_headers(self, window: Window, full: bool = False) -> dict[str, str]:
        start = window.minute_start or int(self.now() // 60) * 60
        remaining = 0 if full else max(self.minute_limit - window.minute_count, 0)
        return {
            "X-RateLimit-Minutely-Limit": str(self.minute_limit),
            "X-RateLimit-Minutely-Remaining": str(remaining),
            "X-RateLimit-Minutely-Reset": str((start + 60) * 1000),
        }

    def _daily_headers(self, window: Window) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.day_limit),
            "X-RateLimit-Remaining": str(max(self.day_limit - window.day_count, 0)),
            "X-RateLimit-Reset": str((window.day_start + 86400) * 1000),
        }

    # -- API endpoints -----------------------------------------------------------------------------

    def _me(self) -> Response:
        with self._lock:
            self.me_calls += 1
        try:
            self._gate()
            with self._lock:
                current = next(iter(self._divisions), None)
                row = {
                    "UserID": seed.DEMO_USER_ID,
                    "CurrentDivision": current,
                    "FullName": seed.DEMO_USER_NAME,
                    "Email": seed.DEMO_USER_EMAIL,
                    "UserName": seed.DEMO_USER_EMAIL,
                    "LanguageCode": "en-GB",
                    "ServerTime": wire_date(self._now_dt()),
                }
            uri = f"{request.host_url}api/v1/current/Me(guid'{seed.DEMO_USER_ID}')"
            selected = self._select(row, request.args.get("$select"), tuple(row))
            selected["__metadata"] = {"uri": uri, "type": "Exact.Web.Api.System.Me"}
            return json_response({"d": {"results": [selected]}})
        except ApiFailure as failure:
            return odata_error(failure.status, failure.message, failure.headers)

    def _api(self, division: int, resource: str) -> Response:
        with self._lock:
            self.api_calls[division] += 1
        try:
            grant = self._gate()
            with self._lock:
                state = self._check_division(division)
                headers = self._count_call(grant.client_id, division)
            try:
                response = self._dispatch(state, resource)
            except ApiFailure as failure:
                return odata_error(failure.status, failure.message, {**headers, **failure.headers})
            response.headers.update(headers)
            return response
        except ApiFailure as failure:
            return odata_error(failure.status, failure.message, failure.headers)

    def _dispatch(self, division: Division, resource: str) -> Response:
        handled = self.orders.dispatch(division, resource)
        if handled is not None:
            return handled
        match = _RESOURCE.match(resource)
        entity = ENTITY_SETS.get(match.group("set").lower()) if match else None
        if match is None or entity is None:
            raise ApiFailure(404, f"Resource not found for the segment '{resource}'.")
        key = match.group("key")
        method = request.method
        with self._lock:
            if method == "GET":
                return self._get(division, entity, key.lower() if key else None)
            if method == "POST" and key is None:
                return self._post(division, entity)
            if method == "PUT" and key is not None and entity.path == ENTRIES:
                self._put_entry(division, key.lower())
                return Response(status=204)
        raise ApiFailure(405, "Method not allowed")

    # -- reads -----------------------------------------------------------------------------------

    def _get(self, division: Division, entity: EntitySet, key: str | None) -> Response:
        rows = division.tables[entity.path]
        if key is not None:
            row = next((r for r in rows if r[entity.key] == key), None)
            if row is None:
                raise ApiFailure(404, "Not found")
            return json_response({"d": self._render(division, entity, row)})
        page, next_key = self._query(entity, rows)
        body: dict[str, Any] = {"results": [self._render(division, entity, row) for row in page]}
        if next_key is not None:
            body["__next"] = self._next_link(division.number, entity, next_key)
        return json_response({"d": body})

    def _query(self, entity: EntitySet, rows: list[dict[str, Any]]) -> tuple[list[dict], str | None]:
        """Filter, order, cap with $top, then cut one page after $skiptoken."""
        args = request.args
        text = args.get("$filter")
        if entity.mandatory_filter and not text:
            raise ApiFailure(400, MANDATORY_FILTER_MESSAGE)
        matched = list(rows)
        if text:
            parser, predicate = _compile_filter(text, entity)
            if entity.mandatory_filter and not parser.referenced & set(entity.mandatory_filter):
                raise ApiFailure(400, MANDATORY_FILTER_MESSAGE)
            matched = [row for row in matched if predicate(row)]
        matched = _order(matched, args.get("$orderby"), entity)
        if args.get("$top"):
            matched = matched[: _int_arg(args["$top"])]
        start = _skip_to(matched, args.get("$skiptoken"), entity.key)
        page = matched[start : start + self.page_size]
        more = start + self.page_size < len(matched)
        return page, (page[-1][entity.key] if more else None)

    def _next_link(self, number: int, entity: EntitySet, last_key: str) -> str:
        params = [(name, value) for name, value in request.args.items() if name != "$skiptoken"]
        params.append(("$skiptoken", f"guid'{last_key}'"))
        query = urlencode(params, quote_via=quote, safe="$'(),")
        return f"{request.host_url}api/v1/{number}/{entity.path}?{query}"

    def _render(self, division: Division, entity: EntitySet, row: dict[str, Any]) -> dict[str, Any]:
        """One row on the wire: selected properties, /Date()/ dates, metadata and navigation."""
        uri = f"{request.host_url}api/v1/{division.number}/{entity.path}(guid'{row[entity.key]}')"
        names = entity.fields + ((entity.navigation,) if entity.navigation else ())
        out = self._select(row, request.args.get("$select"), names)
        if entity.navigation and (entity.navigation in out):
            out[entity.navigation] = self._navigation(division, row, uri)
        out["__metadata"] = {"uri": uri, "type": f"Exact.Web.Api.Models.{entity.type_name}"}
        return out

    def _navigation(self, division: Division, row: dict[str, Any], uri: str) -> dict[str, Any]:
        expand = {name.strip() for name in request.args.get("$expand", "").split(",")}
        if LINES_NAV not in expand:
            return {"__deferred": {"uri": f"{uri}/{LINES_NAV}"}}
        base = f"{request.host_url}api/v1/{division.number}/purchaseentry/PurchaseEntryLines"
        lines = []
        for line in row[LINES_NAV]:
            out = {name: _wire(line.get(name)) for name in LINE_FIELDS}
            out["__metadata"] = {
                "uri": f"{base}(guid'{line['ID']}')",
                "type": "Exact.Web.Api.Models.PurchaseEntryLine",
            }
            lines.append(out)
        return {"results": lines}

    @staticmethod
    def _select(row: dict[str, Any], select: str | None, names: tuple[str, ...]) -> dict[str, Any]:
        wanted = [name.strip() for name in select.split(",")] if select else list(names)
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise ApiFailure(400, f"Property '{unknown[0]}' does not exist.")
        return {name: _wire(row.get(name)) for name in wanted}

    # -- writes ----------------------------------------------------------------------------------

    def _post(self, division: Division, entity: EntitySet) -> Response:
        body = _json_body()
        if entity.path == "crm/Accounts":
            row = self._create_account(division, body)
        elif entity.path == ENTRIES:
            row = self._create_entry(division, body)
        else:
            raise ApiFailure(405, "Method not allowed")
        rendered = self._render(division, entity, row)
        if entity.navigation:  # a POST returns the lines it created
            rendered[entity.navigation] = {"results": self._navigation_all(division, row)}
        if "return=minimal" in request.headers.get("Prefer", ""):
            return Response(status=204)
        return json_response({"d": rendered}, 201)

    def _navigation_all(self, division: Division, row: dict[str, Any]) -> list[dict[str, Any]]:
        return [{name: _wire(line.get(name)) for name in LINE_FIELDS} for line in row[LINES_NAV]]

    def _create_account(self, division: Division, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - set(seed.ACCOUNT_FIELDS)
        if unknown:
            raise ApiFailure(400, f"Property '{sorted(unknown)[0]}' does not exist on type 'Account'.")
        if not str(body.get("Name") or "").strip():
            raise ApiFailure(500, "Mandatory: Name")
        rows = division.tables["crm/Accounts"]
        code = str(body.get("Code") or "").strip() or _next_code(rows)
        if any(row["Code"].strip() == code for row in rows):
            raise ApiFailure(500, f"Code already exists: {code}")
        row = seed.account_row(division.number, str(uuid.uuid4()), {**body, "Code": code}, self._now_dt())
        rows.append(row)
        return row

    def _create_entry(self, division: Division, body: dict[str, Any]) -> dict[str, Any]:
        header, lines = self._validated_entry(division, body, None)
        entries = division.tables[ENTRIES]
        if any(_same_invoice(existing, header) for existing in entries):
            raise ApiFailure(500, DUPLICATE_MESSAGE)
        entry_id = str(uuid.uuid4())
        now = self._now_dt()
        header.update(EntryID=entry_id, Status=STATUS_OPEN, Division=division.number, Created=now, Modified=now)
        header["EntryNumber"] = self._next_entry_number(division, header["Journal"])
        header[LINES_NAV] = [dict(line, EntryID=entry_id) for line in lines]
        entries.append(header)
        return header

    def _put_entry(self, division: Division, entry_id: str) -> None:
        try:
            row = self._find_entry(division.number, entry_id)
        except KeyError:
            raise ApiFailure(404, "Not found") from None
        if row["Status"] != STATUS_OPEN:
            raise ApiFailure(500, "This entry has been processed and can no longer be changed.")
        merged = {name: row.get(name) for name in ENTRY_HEADER}
        merged["PurchaseEntryLines"] = [{name: line.get(name) for name in LINE_WRITABLE} for line in row[LINES_NAV]]
        merged.update(_json_body())
        header, lines = self._validated_entry(division, merged, row)
        row.update(header, Modified=self._now_dt())
        row[LINES_NAV] = [dict(line, EntryID=row["EntryID"]) for line in lines]

    def _next_entry_number(self, division: Division, journal: str) -> int:
        if journal not in division.entry_numbers:
            year = self._now_dt().year % 100
            division.entry_numbers[journal] = int(f"{year:02d}{journal:0>2}0000")
        division.entry_numbers[journal] += 1
        return division.entry_numbers[journal]

    def _validated_entry(
        self, division: Division, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Check a PurchaseEntry body like Exact does; 500 with every problem, one per line."""
        unknown = set(body) - ENTRY_WRITABLE
        if unknown:
            raise ApiFailure(400, f"Property '{sorted(unknown)[0]}' does not exist on type 'PurchaseEntry'.")
        problems: list[str] = []
        entry_date = _date_field(body, "EntryDate", problems) or self._now_dt().replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        header = {
            "Journal": _check_journal(division, body.get("Journal"), problems),
            "Supplier": _check_supplier(division, body.get("Supplier"), problems),
            "EntryDate": entry_date,
            "DueDate": _date_field(body, "DueDate", problems) or entry_date,
            "YourRef": body.get("YourRef"),
            "Currency": body.get("Currency") or "EUR",
            "Description": body.get("Description"),
            "PaymentCondition": body.get("PaymentCondition"),
            "ReportingYear": entry_date.year,
            "ReportingPeriod": entry_date.month,
        }
        lines = _check_lines(division, body.get("PurchaseEntryLines"), entry_date, problems)
        if problems:
            raise ApiFailure(500, "\r\n".join(dict.fromkeys(problems)))
        gross = sum((line["AmountFC"] + line["VATAmountFC"] for line in lines), Decimal("0"))
        vat = sum((line["VATAmountFC"] for line in lines), Decimal("0"))
        header.update(AmountFC=gross, AmountDC=gross, VATAmountFC=vat, VATAmountDC=vat)
        header["Type"] = 31 if gross < 0 else 30
        return header, lines

    # -- admin endpoints ----------------------------------------------------------------------------

    def _admin_faults(self) -> Response:
        body = _json_body()
        self.set_faults(
            delay=float(body.get("delay", 0)),
            error_5xx_count=int(body.get("error_5xx_count", 0)),
            rate_limit_count=int(body.get("rate_limit_count", 0)),
            drop_count=int(body.get("drop_count", 0)),
        )
        return json_response(self.state()["faults"])

    def _admin_state(self) -> Response:
        return json_response(self.state())

    def _admin_entries(self) -> Response:
        with self._lock:
            number = int(request.args.get("division") or next(iter(self._divisions)))
            entries = self.purchase_entries(number)
        return json_response([_plain(entry) for entry in entries])

    def _admin_clients(self) -> Response:
        body = _json_body()
        self.register_client(body["client_id"], body["client_secret"], body["redirect_uri"])
        return json_response({"client_id": body["client_id"]}, 201)

    def _admin_divisions(self) -> Response:
        body = _json_body()
        number = self.add_division(int(body.get("division", 100001)), seed=bool(body.get("seed", True)))
        return json_response({"division": number}, 201)

    def _admin_advance(self) -> Response:
        self.advance(float(_json_body().get("seconds", 0)))
        return json_response({"clock": self.now()})

    def _admin_revoke(self) -> Response:
        self.revoke_grant(_json_body().get("client_id"))
        return json_response({"revoked": True})


def make_exact_sandbox(**kwargs: Any) -> ExactSandbox:
    """A sandbox with no clients and no divisions; callers register what their test needs."""
    return ExactSandbox(**kwargs)


# ---------------------------------------------------------------------------------------------------
# Helpers without state
# ---------------------------------------------------------------------------------------------------


def _seed_tables(division: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    return seed.seed_division(division, now)


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _expired_text(expired_at: float, now: float) -> str:
    fmt = "%m/%d/%Y %I:%M:%S %p"
    at = datetime.fromtimestamp(expired_at, tz=UTC).strftime(fmt)
    current = datetime.fromtimestamp(now, tz=UTC).strftime(fmt)
    return f"The refresh token expired at {at} and it is now {current}."


def _drop_connection() -> None:
    """Close the client's socket without an answer (werkzeug or gunicorn expose it in the environ)."""
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _json_body() -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = loads(raw)
    except ValueError:
        raise ApiFailure(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiFailure(400, "The request body must be a JSON object.")
    return body


def _compile_filter(text: str, entity: EntitySet) -> tuple[FilterParser, Callable[[Row], bool]]:
    try:
        parser = FilterParser(text, set(entity.fields))
        return parser, parser.parse()
    except QueryError as exc:
        raise ApiFailure(400, str(exc)) from None


def _int_arg(text: str) -> int:
    if not text.isdigit():
        raise ApiFailure(400, SYNTAX_ERROR)
    return int(text)


def _order(rows: list[dict[str, Any]], orderby: str | None, entity: EntitySet) -> list[dict[str, Any]]:
    if not orderby:
        return rows
    for term in reversed([part.strip() for part in orderby.split(",")]):
        name, _, direction = term.partition(" ")
        if name not in entity.fields or direction.strip().lower() not in ("", "asc", "desc"):
            raise ApiFailure(400, SYNTAX_ERROR)
        rows = sorted(rows, key=lambda row: _sort_key(row.get(name)), reverse=direction.strip() == "desc")
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, _comparable(value))


def _skip_to(rows: list[dict[str, Any]], token: str | None, key: str) -> int:
    if not token:
        return 0
    match = re.fullmatch(r"guid'([0-9A-Fa-f-]{36})'", token)
    if match is None:
        raise ApiFailure(400, SYNTAX_ERROR)
    wanted = match.group(1).lower()
    for index, row in enumerate(rows):
        if row[key] == wanted:
            return index + 1
    return len(rows)


def _next_code(rows: list[dict[str, Any]]) -> str:
    numbers = [int(row["Code"]) for row in rows if row["Code"].strip().isdigit()]
    return str(max(numbers, default=0) + 1)


def _same_invoice(existing: dict[str, Any], header: dict[str, Any]) -> bool:
    fields = ("Supplier", "YourRef", "EntryDate", "AmountFC")
    return all(existing.get(name) == header.get(name) for name in fields)


def _copy_entry(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out[LINES_NAV] = [dict(line) for line in row[LINES_NAV]]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return wire_date(value) if isinstance(value, datetime) else value


# ---------------------------------------------------------------------------------------------------
# PurchaseEntry validation (Exact answers business-rule failures with HTTP 500)
# ---------------------------------------------------------------------------------------------------

_CENT = Decimal("0.01")


def _lookup(division: Division, path: str, field_name: str, value: Any) -> dict[str, Any] | None:
    wanted = str(value).strip().lower()
    return next((row for row in division.tables[path] if str(row[field_name]).strip().lower() == wanted), None)


def _check_journal(division: Division, code: Any, problems: list[str]) -> str | None:
    if not code:
        problems.append("Mandatory: Diary")
        return None
    journal = _lookup(division, "financial/Journals", "Code", code)
    if journal is None:
        problems.append("Invalid reference: Diary")
        return None
    if journal["Type"] != 22:
        problems.append(f"Invalid journal: {journal['Code']} is not a purchase journal")
    return str(journal["Code"])


def _check_supplier(division: Division, supplier: Any, problems: list[str]) -> str | None:
    if not supplier:
        problems.append("Mandatory: Relationship")
        return None
    account = _lookup(division, "crm/Accounts", "ID", supplier) if _is_guid(supplier) else None
    if account is None:
        problems.append("Invalid reference: Relationship")
        return None
    if not account["IsSupplier"]:
        problems.append("Invalid reference: Relationship is not a supplier")
    return str(account["ID"])


def _check_lines(division: Division, lines: Any, entry_date: datetime, problems: list[str]) -> list[dict]:
    if not isinstance(lines, list) or not lines:
        problems.append("Mandatory: Lines")
        return []
    checked = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append("Invalid value: Lines")
            continue
        checked.append(_check_line(division, line, number, entry_date, problems))
    return checked


def check_dimensions(
    division: Division, line: dict, on: datetime, problems: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A line's cost center and cost unit as stored, each problem added; an ended cost center is refused."""
    cost_center = _check_code(division, "hrm/Costcenters", line.get("CostCenter"), "Cost center", problems)
    cost_unit = _check_code(division, "hrm/Costunits", line.get("CostUnit"), "Cost unit", problems)
    if cost_center and cost_center["EndDate"] is not None and cost_center["EndDate"] < on:
        problems.append("Invalid reference: Cost center")
    return cost_center, cost_unit


def _check_line(division: Division, line: dict, number: int, entry_date: datetime, problems: list[str]) -> dict:
    unknown = set(line) - LINE_WRITABLE
    if unknown:
        raise ApiFailure(400, f"Property '{sorted(unknown)[0]}' does not exist on type 'PurchaseEntryLine'.")
    gl = _check_gl(division, line.get("GLAccount"), problems)
    vat_code = _check_code(division, "vat/VATCodes", line.get("VATCode"), "VAT code", problems)
    cost_center, cost_unit = check_dimensions(division, line, entry_date, problems)
    amount = _amount(line, "AmountFC", problems, mandatory=True)
    percentage = vat_code["Percentage"] if vat_code else Decimal("0")
    vat = _amount(line, "VATAmountFC", problems, mandatory=False)
    if vat is None and amount is not None:  # Exact computes the VAT when it is not given
        vat = (amount * percentage).quantize(_CENT, ROUND_HALF_UP)
    return {
        "ID": str(uuid.uuid4()),
        "LineNumber": line.get("LineNumber") or number,
        "GLAccount": gl["ID"] if gl else None,
        "GLAccountCode": gl["Code"] if gl else None,
        "AmountFC": amount,
        "AmountDC": amount,
        "VATAmountFC": vat,
        "VATAmountDC": vat,
        "VATCode": vat_code["Code"] if vat_code else None,
        "VATPercentage": percentage,
        "CostCenter": cost_center["Code"] if cost_center else None,
        "CostUnit": cost_unit["Code"] if cost_unit else None,
        "Description": line.get("Description"),
        "Quantity": line.get("Quantity"),
        "Project": line.get("Project"),
        "Division": division.number,
    }


def _check_gl(division: Division, gl_id: Any, problems: list[str]) -> dict[str, Any] | None:
    if not gl_id:
        problems.append("Mandatory: G/L account")
        return None
    gl = _lookup(division, "financial/GLAccounts", "ID", gl_id) if _is_guid(gl_id) else None
    if gl is None:
        problems.append("Invalid reference: G/L account")
    elif gl["IsBlocked"]:
        problems.append(f"Blocked: G/L account {gl['Code']}")
    return gl


def _check_code(division: Division, path: str, code: Any, label: str, problems: list[str]) -> dict | None:
    if code is None or str(code).strip() == "":
        return None
    row = _lookup(division, path, "Code", code)
    if row is None:
        problems.append(f"Invalid reference: {label}")
    elif row.get("IsBlocked"):
        problems.append(f"Blocked: {label} {str(row['Code']).strip()}")
    return row


def _amount(line: dict[str, Any], name: str, problems: list[str], *, mandatory: bool) -> Decimal | None:
    value = line.get(name)
    if value is None:
        if mandatory:
            problems.append("Mandatory: Amount")
            return Decimal("0")
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        problems.append(f"Invalid value: {name}")
        return Decimal("0")
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        problems.append(f"Invalid value: {name}")
        return Decimal("0")


def _date_field(body: dict[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    match = re.fullmatch(r"/Date\((-?\d+)\)/", text)
    if match:
        parsed = _EPOCH + timedelta(milliseconds=int(match.group(1)))
    else:
        try:
            parsed = parse_iso_datetime(text, error=ValueError(text))
        except ValueError:
            problems.append(f"Invalid value: {name}")
            return None
    return parsed.replace(hour=0, minute=0, second=0, microsecond=0)  # date-only fields: midnight UTC


def _is_guid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
