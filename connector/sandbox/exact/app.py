"""`ExactSandbox`: a local Exact Online composed of its parts, with a Python control API and a WSGI app.

The parts, each in its own module: OAuth (`oauth`), rate windows and faults (`limits`), the OData reader (`query`,
`odata_filter`), validation, one module per entity family (`accounts`, `master_data`, `items`, `entries` and
`entry_lines`, `orders` and `order_lines`) and the admin endpoints (`admin`). Every behaviour is noted in its
module as sourced (docs/api-facts.md, by topic) or as a decision of ours.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from flask import Flask, Response, g, request

import connector.sandbox.exact.query as query
from connector.sandbox.exact.accounts import Accounts
from connector.sandbox.exact.admin import register_admin
from connector.sandbox.exact.divisions import Divisions, check_scope
from connector.sandbox.exact.entries import PurchaseEntries, copy_entry, set_status
from connector.sandbox.exact.entry_lines import ENTRIES, EntryLines
from connector.sandbox.exact.items import ITEMS, Items, seed_items
from connector.sandbox.exact.limits import Faults, RateWindows, Window, rate_limited
from connector.sandbox.exact.master_data import MasterData
from connector.sandbox.exact.oauth import Grant, Lifetimes, OAuthServer
from connector.sandbox.exact.order_lines import ORDERS, OrderLines
from connector.sandbox.exact.orders import OrdersControl, PurchaseOrders
from connector.sandbox.exact.payments import PaymentTerms, register_payment_admin
from connector.sandbox.exact.seed import DEMO_USER_EMAIL, DEMO_USER_ID, DEMO_USER_NAME, gl_row, seed_division, seed_guid
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import GL_ACCOUNTS, JOURNALS, lookup
from connector.sandbox.exact.webhooks import Webhooks, changed_row
from connector.sandbox.exact.wire import (
    ApiFailure,
    Call,
    EntitySet,
    drop_connection,
    json_response,
    odata_error,
    parse_resource,
    wire_date,
)


class Resource(Protocol):
    """One entity family: the sets it answers and how it answers a call on them."""

    sets: tuple[EntitySet, ...]

    def handle(self, division: Division, call: Call) -> Response: ...


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
        self._state = State(clock, page_size)
        self.oauth = OAuthServer(self._state, Lifetimes(access_token_lifetime, min_refresh_age, refresh_token_lifetime))
        self.limits = RateWindows(self._state, minute_limit, day_limit)
        self.faults = Faults()
        self.api_calls: Counter[int] = Counter()
        self.me_calls = 0
        self.request_log: list[tuple[str, str]] = []  # (method, path) of every API call: proves a read-only run
        self.orders = OrdersControl(self._state)
        self._entries = PurchaseEntries(self._state)
        self.webhooks = Webhooks(self._state)
        self.payments = PaymentTerms(self._state)
        families: list[Resource] = [
            Accounts(self._state),
            MasterData(self._state),
            Items(self._state),
            self._entries,
            EntryLines(self._state),
            PurchaseOrders(self._state),
            OrderLines(self._state),
            Divisions(self._state, self.payments.move_date),
            self.webhooks,
            self.payments,
        ]
        self._routes = {entity.path.lower(): (entity, family) for family in families for entity in family.sets}
        self.app = self._create_app()

    # -- set-up and inspection ---------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The injected clock (without `advance()`)."""
        return self._state.clock

    @property
    def token_calls(self) -> int:
        """How often the token endpoint was called."""
        return self.oauth.token_calls

    @property
    def token_log(self) -> list[tuple[str, bool, str | None]]:
        """(kind, succeeded, error) of every token call."""
        return self.oauth.token_log

    def now(self) -> float:
        """The sandbox's idea of the time: the injected clock plus any `advance()`."""
        return self._state.now()

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward (for a sandbox run in another process)."""
        with self._state.lock:
            self._state.clock_offset += seconds

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Register an app that may ask for consent."""
        self.oauth.register_client(client_id, client_secret, redirect_uri)

    def revoke_grant(self, client_id: str | None = None) -> None:
        """The user revoked the app: its refresh token now answers 400 invalid_request."""
        self.oauth.revoke_grant(client_id)

    def add_division(self, division: int = 100001, *, seed: bool = True) -> int:
        """Create a company the demo user can access, with master data unless `seed=False`."""
        with self._state.lock:
            now = self._state.now_dt()
            tables = seed_division(division, now) if seed else {}
            tables.setdefault(ITEMS, seed_items(division, now) if seed else [])
            for entity, _family in self._routes.values():
                tables.setdefault(entity.path, [])
            tables.setdefault(ENTRIES, [])
            tables.setdefault(ORDERS, [])
            self._state.divisions[division] = Division(division, tables)
            return division

    def add_gl_account(self, division: int, code: str, description: str, *, type_: int = 110) -> str:
        """Add a G/L account to a division; returns its ID."""
        with self._state.lock:
            row = gl_row(division, code, description, type_, False, self._state.now_dt())
            self._state.division(division).tables[GL_ACCOUNTS].append(row)
            return str(row["ID"])

    def add_journal(self, division: int, code: str, description: str, type_: int = 22) -> str:
        """Add a journal (a purchase journal unless `type_` says otherwise) to a division; returns its ID."""
        with self._state.lock:
            row = {"ID": seed_guid(division, "Journal", code), "Code": code, "Description": description,
                   "Type": type_, "Division": division}  # fmt: skip
            self._state.division(division).tables[JOURNALS].append(row)
            return str(row["ID"])

    def set_webhook_secret(self, client_id: str, secret: str) -> None:
        """The app's webhook secret, which signs its events (Exact shows it in the app centre)."""
        with self._state.lock:
            self.webhooks.secrets[client_id] = secret

    def rename_gl_account(self, division: int, code: str, description: str) -> str:
        """Change a G/L account's description, as a person in Exact would; its webhook follows. Returns its ID."""
        with self._state.lock:
            row = lookup(self._state.division(division), GL_ACCOUNTS, "Code", code)
            if row is None:
                raise KeyError(code)
            row["Description"], row["Modified"] = description, self._state.now_dt()
        self.webhooks.changed(division, GL_ACCOUNTS, "Update", str(row["ID"]))
        return str(row["ID"])

    def delete_purchase_entry(self, division: int, entry_id: str) -> None:
        """Delete an entry by hand in Exact (whatever its status); its webhook follows."""
        with self._state.lock:
            entries = self._state.division(division).tables[ENTRIES]
            entries[:] = [row for row in entries if str(row["EntryID"]).lower() != entry_id.lower()]
        self.webhooks.changed(division, ENTRIES, "Delete", entry_id.lower())

    def deny_division(self, division: int) -> None:
        """Take the user's access to a division away (403 NoDivisionAccess)."""
        with self._state.lock:
            self._state.division(division).accessible = False

    def set_consent_scope(self, client_id: str, divisions: list[int] | None) -> None:
        """Which divisions the client's next consent ticks (None: every one); earlier grants keep theirs."""
        with self._state.lock:
            self.oauth.consent_scopes[client_id] = None if divisions is None else frozenset(divisions)

    def first_division(self) -> int:
        """The division added first."""
        with self._state.lock:
            return self._state.first_division()

    def set_faults(
        self, delay: float = 0.0, error_5xx_count: int = 0, rate_limit_count: int = 0, drop_count: int = 0
    ) -> None:
        """Make the next API calls fail: 503s, 429s, dropped connections, and a delay per call."""
        with self._state.lock:
            self.faults = Faults(delay, error_5xx_count, rate_limit_count, drop_count)

    def fail_requests(self, method: str, path_fragment: str, count: int = 1) -> None:
        """Make the next `count` calls with this method and path fragment answer 503 (others pass)."""
        with self._state.lock:
            self.faults.targeted.append([method.upper(), path_fragment, count])

    def fail_after_storing(self, method: str, path_fragment: str, count: int = 1) -> None:
        """Make the next `count` successful calls with this method and path fragment do their work (a POST
        stores its document) and then answer 502, as a gateway that lost Exact's answer does."""
        with self._state.lock:
            self.faults.after_work.append([method.upper(), path_fragment, count])

    def purchase_entries(self, division: int) -> list[dict[str, Any]]:
        """Every stored entry with its lines, amounts as Decimal (lines also `GrossAmountFC`), dates as datetimes."""
        with self._state.lock:
            return [copy_entry(row) for row in self._state.division(division).tables[ENTRIES]]

    def purchase_orders(self, division: int) -> list[dict[str, Any]]:
        """Every stored purchase order with its lines."""
        return self.orders.purchase_orders(division)

    def accounts(self, division: int) -> list[dict[str, Any]]:
        """Every Account row as stored (Code padded to 18)."""
        return self.rows(division, "crm/Accounts")

    def rows(self, division: int, path: str) -> list[dict[str, Any]]:
        """The stored rows of any entity set (internal form)."""
        with self._state.lock:
            return [dict(row) for row in self._state.division(division).tables[path]]

    def set_entry_status(self, division: int, entry_id: str, status: int) -> None:
        """Change an entry's status, e.g. to 50 (processed) so it can no longer be changed."""
        with self._state.lock:
            set_status(self._state.division(division), entry_id, status)

    def mark_processed(self, division: int, entry_id: str) -> None:
        """Mark an entry processed (Status 50): PUT and DELETE on it and its lines are refused after."""
        self.set_entry_status(division, entry_id, 50)

    def set_order_status(self, division: int, order_id: str, status: int) -> None:
        """Change an order's `OrderStatus`; anything but 10 (open) makes it refuse changes."""
        self.orders.set_order_status(division, order_id, status)

    def record_payment(
        self,
        division: int,
        entry_id: str,
        amount: Decimal | None = None,
        *,
        on: datetime | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """Match a payment to an entry: all that is open, or `amount` of it (a partial payment)."""
        return self.payments.pay(division, entry_id, amount, on=on, reference=reference)

    def undo_payment(self, division: int, entry_id: str) -> dict[str, Any]:
        """Undo the latest payment match of an entry: its term is open again."""
        return self.payments.undo(division, entry_id)

    def payment_terms(self, division: int) -> list[dict[str, Any]]:
        """Every payment term of a division (one or more per entry)."""
        return self.payments.terms(division)

    def move_division(self, division: int) -> datetime:
        """Exact moved the division to another database: DivisionMoveDate changes, row versions restart."""
        return self.payments.move(division)

    def state(self) -> dict[str, Any]:
        """A JSON-friendly summary for `/_sandbox/state`."""
        with self._state.lock:
            return {
                "divisions": sorted(self._state.divisions),
                "purchase_entries": {str(n): len(d.tables[ENTRIES]) for n, d in self._state.divisions.items()},
                "api_calls": {str(n): count for n, count in self.api_calls.items()},
                "me_calls": self.me_calls,
                "token_calls": self.oauth.token_calls,
                "token_log": [list(event) for event in self.oauth.token_log],
                "faults": {name: str(value) for name, value in asdict(self.faults).items()},
                "clock": str(self.now()),
            }

    # -- the WSGI app ------------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/api/oauth2/auth", view_func=self.oauth.authorize, methods=["GET"])
        app.add_url_rule("/api/oauth2/token", view_func=self.oauth.token, methods=["POST"])
        app.add_url_rule("/api/v1/current/Me", view_func=self._me, methods=["GET"])
        app.add_url_rule(
            "/api/v1/<int:division>/<path:resource>", view_func=self._api, methods=["GET", "POST", "PUT", "DELETE"]
        )
        register_admin(app, self)
        register_payment_admin(app, self.payments, self.first_division)
        app.register_error_handler(404, lambda _: odata_error(404, "Not found"))
        app.register_error_handler(405, lambda _: odata_error(405, "Method not allowed"))
        return app

    def _gate(self) -> Grant:
        """Apply faults and authentication to one API call; raises ApiFailure to answer early."""
        with self._state.lock:
            delay, fault = self.faults.delay, self.faults.take_for(request.method, request.path)
        if delay:
            time.sleep(delay)
        if fault == "drop_count":
            drop_connection()
            raise ApiFailure(503, "Service Unavailable")
        if fault == "error_5xx_count":
            raise ApiFailure(503, "Service Unavailable")
        if fault == "rate_limit_count":
            raise rate_limited(self.limits.minutely_headers(Window(), full=True))
        return self.oauth.authenticate()

    def _me(self) -> Response:
        with self._state.lock:
            self.me_calls += 1
        try:
            self._gate()
            with self._state.lock:
                row = {
                    "UserID": DEMO_USER_ID,
                    "CurrentDivision": next(iter(self._state.divisions), None),
                    "FullName": DEMO_USER_NAME,
                    "Email": DEMO_USER_EMAIL,
                    "UserName": DEMO_USER_EMAIL,
                    "LanguageCode": "en-GB",
                    "ServerTime": wire_date(self._state.now_dt()),
                }
            selected = query.select(row, request.args.get("$select"), tuple(row))
            uri = f"{request.host_url}api/v1/current/Me(guid'{DEMO_USER_ID}')"
            selected["__metadata"] = {"uri": uri, "type": "Exact.Web.Api.System.Me"}
            return json_response({"d": {"results": [selected]}})
        except ApiFailure as failure:
            return failure.response()

    def _api(self, division: int, resource: str) -> Response:
        with self._state.lock:
            self.api_calls[division] += 1
            self.request_log.append((request.method, request.path))
        try:
            grant = self._gate()
            with self._state.lock:
                state = self._state.accessible(division)
                check_scope(grant, division)
                headers = self.limits.count(grant.client_id, division)
            g.grant_scope, g.client_id = grant.scope, grant.client_id
        except ApiFailure as failure:
            return failure.response()
        try:
            with self._state.lock:
                response = self._dispatch(state, resource)
                lost = response.status_code < 300 and self.faults.take_after_work(request.method, request.path)
        except ApiFailure as failure:
            return failure.response(headers)
        if lost:
            return ApiFailure(502, "Bad Gateway").response()
        response.headers.update(headers)
        changed = changed_row(resource, response)
        if changed is not None:
            self.webhooks.host = request.host_url.rstrip("/")
            self.webhooks.changed(division, *changed)
        return response

    def _dispatch(self, division: Division, resource: str) -> Response:
        parsed = parse_resource(resource)
        route = self._routes.get(parsed[0]) if parsed else None
        if parsed is None or route is None:
            raise ApiFailure(404, f"Resource not found for the segment '{resource}'.")
        entity, family = route
        return family.handle(division, Call(entity, parsed[1], request.method))


def make_exact_sandbox(**kwargs: Any) -> ExactSandbox:
    """A sandbox with no clients and no divisions; callers register what their test needs."""
    return ExactSandbox(**kwargs)
