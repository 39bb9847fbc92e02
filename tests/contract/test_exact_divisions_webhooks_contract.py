"""The client's division and webhook calls against the Exact sandbox: system/Divisions, the consent's division
scope, one G/L account by ID, and webhook subscriptions with their signed events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request

from connector.errors import DivisionOutOfScope
from connector.exact import subscriptions
from connector.exact.auth import TokenManager
from connector.exact.client import ExactClient
from connector.exact.tokens import MemoryTokenStore
from connector.exact.webhooks import verify
from connector.sandbox.server import ServerThread
from tests.contract.exact_fixtures import CLIENT_ID, DIVISION, Exact, consent, running_exact

OTHER = 200002
SECRET = "the-app-webhook-secret"


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(divisions=(DIVISION, OTHER)) as running:
        yield running


def _clients(exact: Exact, *divisions: int) -> list[ExactClient]:
    """Clients of one fresh consent (the scope set for it applies), one per division."""
    store = MemoryTokenStore(exact.oauth.exchange_code(consent(exact.session, exact.oauth)))
    manager = TokenManager(exact.oauth, store, clock=exact.clock)
    return [ExactClient(exact.url, manager, division=division, session=exact.session) for division in divisions]


def test_the_divisions_a_grant_reaches_and_a_call_outside_its_scope(exact: Exact) -> None:
    assert sorted(int(row["Code"]) for row in exact.client.divisions()) == [DIVISION, OTHER]

    exact.sandbox.set_consent_scope(CLIENT_ID, [DIVISION])
    home, other = _clients(exact, DIVISION, OTHER)

    assert [int(row["Code"]) for row in home.divisions()] == [DIVISION]
    with pytest.raises(DivisionOutOfScope, match="not within division scope"):
        other.journals()


def test_one_gl_account_by_id(exact: Exact) -> None:
    first = exact.client.gl_accounts()[0]

    assert exact.client.gl_account(str(first["ID"])) == first
    assert exact.client.gl_account("00000000-0000-0000-0000-000000000000") is None


class Callback:
    """A local callback that records what it receives; answers 500 to the first `fail` deliveries."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.fail = fail
        self.received = threading.Event()
        self.app = Flask(__name__)
        self.app.add_url_rule("/hook", "hook", self._hook, methods=["POST"])

    def _hook(self) -> Any:
        body = request.get_data()
        self.bodies.append(body)
        if body and self.fail:
            self.fail -= 1
            return "", 500
        if body:
            self.received.set()
        return "", 200


def test_subscriptions_and_signed_events_retried_until_taken(exact: Exact) -> None:
    exact.sandbox.set_webhook_secret(CLIENT_ID, SECRET)
    callback = Callback(fail=1)
    with ServerThread(callback.app) as server:
        made = subscriptions.subscribe(exact.client, f"{server.url}/hook", "GLAccounts")
        assert [s["Topic"] for s in subscriptions.subscriptions(exact.client)] == ["GLAccounts"]

        gl_id = exact.sandbox.rename_gl_account(DIVISION, "4010", "Office rent")
        assert callback.received.wait(10)
        exact.sandbox.webhooks.wait()
        subscriptions.unsubscribe(exact.client, str(made["ID"]))

    assert callback.bodies[0] == b""  # the check of a new callback, answered before any signature
    events = [body for body in callback.bodies if body]
    assert len(events) == 2 and events[0] == events[1]  # the first try failed; Exact tried the same again
    event = verify(SECRET, events[-1])
    assert (event.topic, event.action, event.division, event.key) == ("GLAccounts", "Update", DIVISION, gl_id)
    assert subscriptions.subscriptions(exact.client) == []
