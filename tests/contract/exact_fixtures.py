"""Building blocks for the Exact contract tests: a sandbox on a real port, a hand-moved clock, a grant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from connector.exact.auth import ExactOAuth, TokenManager
from connector.exact.client import ExactClient
from connector.exact.tokens import ExactTokens, MemoryTokenStore
from connector.sandbox.exact import ExactSandbox, make_exact_sandbox
from connector.sandbox.server import ServerThread
from tests.support import FakeClock

CLIENT_ID = "ml-connector-exact-test"
CLIENT_SECRET = "exact-sandbox-secret-do-not-print"
REDIRECT_URI = "https://connector.example/exact/callback"
DIVISION = 100001


@dataclass
class Exact:
    """A running sandbox with one consented grant and a client wired to it."""

    sandbox: ExactSandbox
    url: str
    session: requests.Session
    oauth: ExactOAuth
    store: MemoryTokenStore
    tokens: TokenManager
    client: ExactClient
    clock: Any


def consent(session: requests.Session, oauth: ExactOAuth, state: str = "state-1") -> str:
    """Walk the consent screen like a browser and return the authorization code from the redirect."""
    response = session.get(oauth.authorization_url(state), allow_redirects=False)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


@contextmanager
def running_exact(
    *, clock: Any = None, margin: float = 30, divisions: tuple[int, ...] = (DIVISION,), **sandbox_options: Any
) -> Iterator[Exact]:
    """Start a sandbox, consent once, and yield a client for the first division; stop everything after."""
    clock = clock if clock is not None else FakeClock()
    sandbox = make_exact_sandbox(clock=clock, **sandbox_options)
    sandbox.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    for number in divisions:
        sandbox.add_division(number)
    with ServerThread(sandbox.app) as server, requests.Session() as session:
        oauth = ExactOAuth(server.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, session=session, clock=clock)
        store = MemoryTokenStore(oauth.exchange_code(consent(session, oauth)))
        manager = TokenManager(oauth, store, clock=clock, margin=margin)
        client = ExactClient(server.url, manager, division=divisions[0], session=session)
        yield Exact(sandbox, server.url, session, oauth, store, manager, client, clock)


def stored(exact: Exact) -> ExactTokens:
    """The tokens in the store right now (fails the test if there are none)."""
    tokens = exact.store.load()
    assert tokens is not None
    return tokens
