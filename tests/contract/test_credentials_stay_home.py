"""Credentials never leave for another host: Exact's token and API calls follow no redirect, Basware's only to
https (or, for the local sandbox, to loopback from a loopback origin)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, request

from connector.basware.client import BaswareClient, may_follow
from connector.errors import APIError, RetriableAPIError
from connector.exact.auth import ExactOAuth, TokenManager
from connector.exact.client import ExactClient
from connector.exact.tokens import ExactTokens, MemoryTokenStore
from connector.sandbox.server import ServerThread

SECRET = "exact-client-secret-must-stay-home"
REFRESH = "refresh-token-must-stay-home"


@dataclass
class Elsewhere:
    """Another host: it records every request that reaches it."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def redirecting(status: int = 307) -> Iterator[tuple[str, Elsewhere]]:
    """A fake Exact origin that redirects every request to another host, and that host."""
    other = Flask("elsewhere")
    origin = Flask("origin")
    with ServerThread(other) as other_server:
        elsewhere = Elsewhere(other_server.url)

        @other.route("/<path:path>", methods=["GET", "POST", "PUT"])
        def catch(path: str) -> Response:
            elsewhere.seen.append({"path": path, "body": request.get_data(as_text=True), **dict(request.headers)})
            return Response('{"access_token": "a", "refresh_token": "r", "expires_in": "600"}', 200)

        @origin.route("/<path:path>", methods=["GET", "POST", "PUT"])
        def bounce(path: str) -> Response:
            return Response("", status, {"Location": f"{elsewhere.url}/{path}"})

        with ServerThread(origin) as origin_server:
            yield origin_server.url, elsewhere


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_the_exact_token_call_follows_no_redirect(status: int) -> None:
    with redirecting(status) as (origin, elsewhere):
        oauth = ExactOAuth(origin, "client", SECRET, "https://connector.example/cb")
        with pytest.raises(APIError) as refused:
            oauth.refresh(REFRESH)
    assert elsewhere.seen == []
    assert "redirect" in str(refused.value) and SECRET not in str(refused.value)


def test_an_exact_api_call_follows_no_redirect() -> None:
    with redirecting(307) as (origin, elsewhere):
        oauth = ExactOAuth(origin, "client", SECRET, "https://connector.example/cb")
        tokens = ExactTokens(access_token="bearer-stays-home", refresh_token=REFRESH, issued_at=0, expires_at=9e12)
        client = ExactClient(origin, TokenManager(oauth, MemoryTokenStore(tokens)), division=1)
        with pytest.raises(APIError) as refused:
            client.current_division()
    assert elsewhere.seen == []
    assert "redirect" in str(refused.value)


@pytest.mark.parametrize(
    ("origin", "target", "allowed"),
    [
        ("https://api.basware.com", "https://s3.eu-west-1.amazonaws.com/x", True),
        ("https://api.basware.com", "http://s3.eu-west-1.amazonaws.com/x", False),
        ("https://api.basware.com", "http://127.0.0.1:9/x", False),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5001/_objects/1", True),
        ("http://127.0.0.1:5000", "http://evil.example/_objects/1", False),
        ("https://api.basware.com", "ftp://files.example/x", False),
    ],
)
def test_basware_redirects_are_followed_only_to_https(origin: str, target: str, allowed: bool) -> None:

    assert may_follow(origin, target) is allowed


DRIPPED_ME = b'{"d": {"results": [{"CurrentDivision": 1, "Division": 1}]}}'


@contextmanager
def dripping() -> Iterator[str]:
    """A server that answers at once, then sends its body a byte at a time, each well inside a read timeout."""
    app = Flask("drip")

    def drip(body: bytes) -> Iterator[bytes]:
        for index in range(len(body)):
            time.sleep(0.15)
            yield body[index : index + 1]

    @app.post("/v1/tokens")
    def token() -> Response:
        return Response('{"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}', 200)

    @app.get("/<path:path>")
    def slow(path: str) -> Response:
        return Response(drip(DRIPPED_ME), 200, {"Content-Type": "application/json"})

    with ServerThread(app) as server:
        yield server.url


def test_an_exact_call_that_never_finishes_is_cut_at_its_deadline() -> None:
    with dripping() as url:
        oauth = ExactOAuth(url, "client", SECRET, "https://connector.example/cb")
        tokens = ExactTokens(access_token="a", refresh_token=REFRESH, issued_at=0, expires_at=9e12)
        client = ExactClient(url, TokenManager(oauth, MemoryTokenStore(tokens)), division=1, timeout=1)
        with pytest.raises(RetriableAPIError, match="timed out"):
            client.current_division()


def test_a_basware_call_that_never_finishes_is_cut_at_its_deadline() -> None:
    with dripping() as url, BaswareClient(url, "client", "secret", timeout=1) as client:
        with pytest.raises(RetriableAPIError, match="Timeout"):
            client.get_vendor("S100")
