"""The Exact sandbox's webhooks: `webhooks/WebhookSubscriptions`, and signed events when its data changes.

Sourced (docs/api-facts.md, Exact webhooks): a subscription is a `CallbackURL` and a `Topic` per division; after
subscribing, Exact POSTs an empty body to the callback; an event is `{"Content": {Topic, ClientId, Division,
Action, Key, ExactOnlineEndpoint, EventCreatedOn}, "HashCode": ...}`, `HashCode` the upper-case hex HMAC-SHA256 of
the `Content` JSON keyed with the app's webhook secret; a failed delivery is retried. Decisions (ours): deliveries
run on a thread, so the change that caused them is answered first; a delivery is tried `ATTEMPTS` times, waiting
`RETRY_DELAYS` between tries; every try is kept in `deliveries` for the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from flask import Response, g, request

from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.wire import (
    NOT_ALLOWED,
    ApiFailure,
    Call,
    EntitySet,
    json_body,
    json_response,
    parse_resource,
)

SUBSCRIPTIONS = "webhooks/webhooksubscriptions"
SUBSCRIPTION_SET = EntitySet(SUBSCRIPTIONS, "ID", "Webhooks.WebhookSubscription", (
    "ID", "CallbackURL", "Topic", "Division", "ClientID", "Description"))  # fmt: skip
TOPICS = ("Accounts", "GLAccounts", "PurchaseEntries", "PurchaseOrders", "Items")
# The entity set behind each topic, as the API names it in ExactOnlineEndpoint.
TOPIC_SETS = {
    "crm/accounts": ("Accounts", "crm/Accounts"),
    "financial/glaccounts": ("GLAccounts", "financial/GLAccounts"),
    "purchaseentry/purchaseentries": ("PurchaseEntries", "purchaseentry/PurchaseEntries"),
}
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)
ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass(frozen=True)
class Delivery:
    """One try to deliver an event: where, what (None for the empty validation POST), and the answer."""

    url: str
    content: dict[str, Any] | None
    status: int | None


class Webhooks:
    """Subscriptions per division and client; the events they receive."""

    sets: tuple[EntitySet, ...] = (SUBSCRIPTION_SET,)

    def __init__(self, state: State) -> None:
        self.state = state
        self.host = "http://127.0.0.1"  # the sandbox's own URL as last called, for ExactOnlineEndpoint
        self.subscriptions: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}  # client id -> the app's webhook secret
        self.deliveries: list[Delivery] = []
        self.threads: list[threading.Thread] = []

    def handle(self, division: Division, call: Call) -> Response:
        """GET the calling app's subscriptions in a division, POST one, DELETE one."""
        client_id = g.get("client_id")
        mine = [s for s in self.subscriptions if s["Division"] == division.number and s["ClientID"] == client_id]
        if call.method == "GET":
            return json_response({"d": {"results": [dict(s) for s in mine]}})
        if call.method == "POST" and call.key is None:
            return self._subscribe(division, client_id, json_body())
        if call.method == "DELETE" and call.key is not None:
            found = next((s for s in mine if s["ID"] == call.key), None)
            if found is None:
                raise ApiFailure(404, "Subscription not found")
            self.subscriptions.remove(found)
            return Response(b"", status=204)
        raise ApiFailure(405, NOT_ALLOWED)

    def _subscribe(self, division: Division, client_id: str | None, body: dict[str, Any]) -> Response:
        url, topic = body.get("CallbackURL"), body.get("Topic")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiFailure(400, "Mandatory: CallbackURL")
        if topic not in TOPICS:
            raise ApiFailure(400, f"Invalid topic: {topic}")
        row = {"ID": str(uuid.uuid4()), "CallbackURL": url, "Topic": topic, "Division": division.number,
               "ClientID": client_id, "Description": None}  # fmt: skip
        self.subscriptions.append(row)
        self._start(url, None, None)  # Exact checks a new callback with an empty POST
        return json_response({"d": dict(row)}, 201)

    def changed(self, division: int, path: str, action: str, key: str) -> None:
        """Send the event for a change of one row to every subscription of its topic in the division."""
        topic, entity = TOPIC_SETS.get(path.lower(), (None, None))
        if topic is None:
            return
        with self.state.lock:
            targets = [dict(s) for s in self.subscriptions if s["Division"] == division and s["Topic"] == topic]
        for sub in targets:
            content = {
                "Topic": topic, "ClientId": sub["ClientID"], "Division": division, "Action": action, "Key": key,
                "ExactOnlineEndpoint": f"{self.host}/api/v1/{division}/{entity}(guid'{key}')",
                "EventCreatedOn": self.state.now_dt().isoformat(timespec="microseconds"),
            }  # fmt: skip
            self._start(sub["CallbackURL"], content, self.secrets.get(sub["ClientID"] or ""))

    def _start(self, url: str, content: dict[str, Any] | None, secret: str | None) -> None:
        thread = threading.Thread(target=self._deliver, args=(url, content, secret), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _deliver(self, url: str, content: dict[str, Any] | None, secret: str | None) -> None:
        body = b"" if content is None else signed_body(content, secret or "")
        for attempt in range(ATTEMPTS if content is not None else 1):
            try:
                status: int | None = requests.post(url, data=body, headers=_HEADERS, timeout=10).status_code
            except requests.RequestException:
                status = None
            with self.state.lock:
                self.deliveries.append(Delivery(url, content, status))
            if status is not None and 200 <= status < 300:
                return
            if attempt < len(RETRY_DELAYS):
                time.sleep(RETRY_DELAYS[attempt])

    def wait(self, timeout: float = 30.0) -> None:
        """Wait until every delivery started so far has ended (tests)."""
        for thread in list(self.threads):
            thread.join(timeout)


_HEADERS = {"Content-Type": "application/json"}


def signed_body(content: dict[str, Any], secret: str) -> bytes:
    """The body Exact sends: the Content JSON and its HashCode."""
    raw = json.dumps(content, separators=(",", ":")).encode()
    hash_code = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest().upper()
    return b'{"Content":' + raw + b',"HashCode":"' + hash_code.encode() + b'"}'


ACTIONS = {"POST": "Create", "PUT": "Update", "DELETE": "Delete"}


def changed_row(resource: str, response: Response) -> tuple[str, str, str] | None:
    """(set path, action, key) of the row a successful API write changed; None for a read or a failure."""
    parsed = parse_resource(resource)
    if request.method not in ACTIONS or response.status_code >= 300 or parsed is None:
        return None
    path, key = parsed
    if key is None:
        try:
            created = json.loads(response.get_data() or b"{}").get("d", {})
        except ValueError:
            return None
        found = created.get("ID") or created.get("EntryID") if isinstance(created, dict) else None
        key = str(found).lower() if found else None
    return None if key is None else (path, ACTIONS[request.method], key)
