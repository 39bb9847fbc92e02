"""The Exact sandbox's admin endpoints under `/_sandbox/`, for a sandbox driven from another process.

No authentication: the sandbox listens on loopback only. Each endpoint calls the Python control API of the same name.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask, Response, request

from connector.sandbox.exact.entry_lines import STATUS_PROCESSED
from connector.sandbox.exact.wire import json_response, plain

Rows = list[dict[str, Any]]


class Control(Protocol):
    """What the admin endpoints need of the sandbox."""

    def set_faults(
        self, delay: float = 0.0, error_5xx_count: int = 0, rate_limit_count: int = 0, drop_count: int = 0
    ) -> None: ...
    def state(self) -> dict[str, Any]: ...
    def purchase_entries(self, division: int) -> Rows: ...
    def purchase_orders(self, division: int) -> Rows: ...
    def set_entry_status(self, division: int, entry_id: str, status: int) -> None: ...
    def set_order_status(self, division: int, order_id: str, status: int) -> None: ...
    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None: ...
    def add_division(self, division: int = 100001, *, seed: bool = True) -> int: ...
    def advance(self, seconds: float) -> None: ...
    def revoke_grant(self, client_id: str | None = None) -> None: ...
    def now(self) -> float: ...
    def first_division(self) -> int: ...
    def set_webhook_secret(self, client_id: str, secret: str) -> None: ...
    def rename_gl_account(self, division: int, code: str, description: str) -> str: ...
    def delete_purchase_entry(self, division: int, entry_id: str) -> None: ...


def register_admin(app: Flask, sandbox: Control) -> None:
    """Add the `/_sandbox/` routes to the sandbox's app."""
    routes = Admin(sandbox)
    for rule, view, method in (
        ("/_sandbox/faults", routes.faults, "POST"),
        ("/_sandbox/state", routes.state, "GET"),
        ("/_sandbox/purchase-entries", routes.entries, "GET"),
        ("/_sandbox/purchase-entries/<entry_id>/processed", routes.processed, "POST"),
        ("/_sandbox/purchase-entries/<entry_id>/status", routes.entry_status, "POST"),
        ("/_sandbox/purchase-orders", routes.orders, "GET"),
        ("/_sandbox/purchase-orders/<order_id>/status", routes.order_status, "POST"),
        ("/_sandbox/clients", routes.clients, "POST"),
        ("/_sandbox/divisions", routes.divisions, "POST"),
        ("/_sandbox/advance", routes.advance, "POST"),
        ("/_sandbox/revoke", routes.revoke, "POST"),
        ("/_sandbox/webhook-secrets", routes.webhook_secret, "POST"),
        ("/_sandbox/gl-accounts/<code>/rename", routes.rename_gl_account, "POST"),
        ("/_sandbox/purchase-entries/<entry_id>", routes.delete_entry, "DELETE"),
    ):
        app.add_url_rule(rule, f"admin_{view.__name__}", view, methods=[method])


class Admin:
    """The admin views, each a thin wrapper over the control API."""

    def __init__(self, sandbox: Control) -> None:
        self.sandbox = sandbox

    def faults(self) -> Response:
        """Set the injected faults; answer them."""
        body = _body()
        self.sandbox.set_faults(
            delay=float(body.get("delay", 0)),
            error_5xx_count=int(body.get("error_5xx_count", 0)),
            rate_limit_count=int(body.get("rate_limit_count", 0)),
            drop_count=int(body.get("drop_count", 0)),
        )
        return json_response(self.sandbox.state()["faults"])

    def state(self) -> Response:
        """A summary: divisions, counts, faults, the clock."""
        return json_response(self.sandbox.state())

    def entries(self) -> Response:
        """Every purchase entry of a division (`?division=`, else the first), with booked amounts per line."""
        return json_response(plain(self.sandbox.purchase_entries(self._division())))

    def processed(self, entry_id: str) -> Response:
        """Mark an entry processed (Status 50): it then refuses every change."""
        self.sandbox.set_entry_status(self._division(), entry_id, STATUS_PROCESSED)
        return json_response({"EntryID": entry_id, "Status": STATUS_PROCESSED})

    def entry_status(self, entry_id: str) -> Response:
        """Set an entry's Status to `{"status": n}`."""
        status = int(_body()["status"])
        self.sandbox.set_entry_status(self._division(), entry_id, status)
        return json_response({"EntryID": entry_id, "Status": status})

    def orders(self) -> Response:
        """Every purchase order of a division (`?division=`, else the first)."""
        return json_response(plain(self.sandbox.purchase_orders(self._division())))

    def order_status(self, order_id: str) -> Response:
        """Set an order's OrderStatus to `{"status": n}` (anything but 10 refuses changes)."""
        status = int(_body()["status"])
        self.sandbox.set_order_status(self._division(), order_id, status)
        return json_response({"PurchaseOrderID": order_id, "OrderStatus": status})

    def clients(self) -> Response:
        """Register an app."""
        body = _body()
        self.sandbox.register_client(body["client_id"], body["client_secret"], body["redirect_uri"])
        return json_response({"client_id": body["client_id"]}, 201)

    def divisions(self) -> Response:
        """Add a division (seeded unless `"seed": false`)."""
        body = _body()
        number = self.sandbox.add_division(int(body.get("division", 100001)), seed=bool(body.get("seed", True)))
        return json_response({"division": number}, 201)

    def advance(self) -> Response:
        """Move the sandbox's clock forward by `{"seconds": s}`."""
        self.sandbox.advance(float(_body().get("seconds", 0)))
        return json_response({"clock": self.sandbox.now()})

    def revoke(self) -> Response:
        """Revoke a client's grant (every grant without `client_id`)."""
        self.sandbox.revoke_grant(_body().get("client_id"))
        return json_response({"revoked": True})

    def webhook_secret(self) -> Response:
        """Set an app's webhook secret: `{"client_id", "secret"}` (its events are signed with it)."""
        body = _body()
        self.sandbox.set_webhook_secret(body["client_id"], body["secret"])
        return json_response({"client_id": body["client_id"]})

    def rename_gl_account(self, code: str) -> Response:
        """Change a G/L account's description (`{"description": ...}`), as a person in Exact; sends its webhook."""
        gl_id = self.sandbox.rename_gl_account(self._division(), code, str(_body()["description"]))
        return json_response({"ID": gl_id, "Code": code})

    def delete_entry(self, entry_id: str) -> Response:
        """Delete a purchase entry by hand; sends its webhook."""
        self.sandbox.delete_purchase_entry(self._division(), entry_id)
        return json_response({"EntryID": entry_id, "deleted": True})

    def _division(self) -> int:
        return int(request.args.get("division") or _body().get("division") or self.sandbox.first_division())


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else {}
