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
from typing import Any, Protocol

from flask import Flask, Response, request

import connector.sandbox.exact.query as query
from connector.sandbox.exact.accounts import Accounts
from connector.sandbox.exact.admin import register_admin
from connector.sandbox.exact.entries import PurchaseEntries, copy_entry, set_status
from connector.sandbox.exact.entry_lines import ENTRIES, EntryLines
from connector.sandbox.exact.items import ITEMS, Items, seed_items
from connector.sandbox.exact.limits import Faults, RateWindows, Window, rate_limited
from connector.sandbox.exact.master_data import MasterData
from connector.sandbox.exact.oauth import Grant, Lifetimes, OAuthServer
from connector.sandbox.exact.order_lines import ORDERS, OrderLines
from connector.sandbox.exact.orders import OrdersControl, PurchaseOrders
from connector.sandbox.exact.seed import DEMO_USER_EMAIL, DEMO_USER_ID, DEMO_USER_NAME, seed_division
from connector.sandbox.exact.state import Division, State
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
        families: list[Resource] = [
            Accounts(self._state),
            MasterData(self._state),
            Items(self._state),
            self._entries,
            EntryLines(self._state),
            PurchaseOrders(self._state),
            OrderLines(self._state),
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

    def deny_division(self, division: int) -> None:
        """Take the user's access to a division away (403 NoDivisionAccess)."""
        with self._state.lock:
            self._state.division(division).accessible = False

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
                headers = self.limits.count(grant.client_id, division)
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
