"""The Exact sandbox's OAuth server: authorization codes, rotating refresh tokens, token errors, bearer checks.

Sourced (docs/api-facts.md, Exact: OAuth): a refresh token is single use and each refresh issues a new one; an
access token lives 10 minutes and cannot be refreshed before 570 seconds ("Rate limit exceeded: access_token not
expired"); unused refresh tokens die after 30 days. Decisions (ours): only the newest access token of a grant is
valid (a refresh revokes the previous one; one weak source); an authorization code lives 10 minutes here; a call
with a missing, expired or revoked token answers 401 with an OData error body.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, redirect, request

from connector.sandbox.exact.state import State
from connector.sandbox.exact.wire import ApiFailure, json_response

CODE_LIFETIME = 600
TokenAnswer = tuple[int, dict[str, Any], dict[str, str]]


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
    scope: frozenset[int] | None = None  # the divisions ticked at consent; None: every division


@dataclass
class Client:
    """A registered app."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class Lifetimes:
    """How long tokens live and how soon a refresh is allowed, in seconds."""

    access_token: float = 600
    min_refresh_age: float = 570
    refresh_token: float = 30 * 86400


class OAuthServer:
    """`/api/oauth2/auth` and `/api/oauth2/token`, and the bearer check every API call goes through."""

    def __init__(self, state: State, lifetimes: Lifetimes) -> None:
        self.state = state
        self.lifetimes = lifetimes
        self.token_calls = 0
        self.token_log: list[tuple[str, bool, str | None]] = []
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, tuple[str, str, float]] = {}  # code -> (client id, redirect uri, issued at)
        self.grants: dict[str, Grant] = {}
        self.consent_scopes: dict[str, frozenset[int] | None] = {}  # what the next consent of a client ticks

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Register an app that may ask for consent."""
        with self.state.lock:
            self.clients[client_id] = Client(client_id, client_secret, redirect_uri)

    def revoke_grant(self, client_id: str | None = None) -> None:
        """The user revoked the app (every app when None): its refresh token answers 400 invalid_request."""
        with self.state.lock:
            for grant in self.grants.values():
                if client_id is None or grant.client_id == client_id:
                    grant.revoked = True

    def authorize(self) -> Response:
        """The consent screen, already consented: redirect with a one-time code (and the state)."""
        args = request.args
        with self.state.lock:
            client = self.clients.get(args.get("client_id", ""))
            if client is None or args.get("redirect_uri") != client.redirect_uri:
                return json_response({"error": "invalid_request", "error_description": "Unknown client"}, 400)
            if args.get("response_type") != "code":
                return json_response({"error": "unsupported_response_type"}, 400)
            code = "!" + secrets.token_urlsafe(24)  # never "-" first: pasted after --code it would read as an option
            self.codes[code] = (client.client_id, client.redirect_uri, self.state.now())
        query = {"code": code}
        if "state" in args:
            query["state"] = args["state"]
        separator = "&" if "?" in client.redirect_uri else "?"
        return redirect(client.redirect_uri + separator + urlencode(query), 302)  # type: ignore[return-value]

    def token(self) -> Response:
        """The token endpoint: exchange a code or a refresh token; every answer is logged for the tests."""
        form = request.form
        grant_type = form.get("grant_type", "")
        kind = "code" if grant_type == "authorization_code" else "refresh"
        with self.state.lock:
            self.token_calls += 1
            status, body, headers = self._answer(grant_type, form)
            error = None if status == 200 else f"{body.get('error')}: {body.get('error_description', '')}"
            self.token_log.append((kind, status == 200, error))
        return json_response(body, status, {"Cache-Control": "no-store", **headers})

    def authenticate(self) -> Grant:
        """The grant whose current access token the call carries; 401 otherwise."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header[:7].lower() == "bearer " else ""
        with self.state.lock:
            for grant in self.grants.values():
                if token and secrets.compare_digest(token, grant.access_token) and not grant.revoked:
                    if self.state.now() < grant.access_issued_at + self.lifetimes.access_token:
                        return grant
        challenge = {"WWW-Authenticate": 'Bearer realm="Exact Online"'}
        raise ApiFailure(401, "Unauthorized: access token missing, expired or revoked.", challenge)

    def _answer(self, grant_type: str, form: Any) -> TokenAnswer:
        client = self.clients.get(form.get("client_id", ""))
        if client is None or not secrets.compare_digest(form.get("client_secret", ""), client.client_secret):
            return 401, {"error": "invalid_client"}, {}
        if grant_type == "authorization_code":
            return self._exchange_code(client, form.get("code", ""), form.get("redirect_uri", ""))
        if grant_type == "refresh_token":
            return self._refresh(client, form.get("refresh_token", ""))
        return 400, {"error": "unsupported_grant_type"}, {}

    def _exchange_code(self, client: Client, code: str, redirect_uri: str) -> TokenAnswer:
        issued = self.codes.pop(code, None)  # single use: a second exchange finds nothing
        if issued is None or issued[0] != client.client_id or issued[1] != redirect_uri:
            return 400, {"error": "invalid_grant"}, {}
        now = self.state.now()
        if now - issued[2] > CODE_LIFETIME:
            return 400, {"error": "invalid_grant", "error_description": "Authorization code expired"}, {}
        grant = Grant(client.client_id, _new_token("AAEA"), now, _new_token("__1P!I"), now)
        grant.scope = self.consent_scopes.get(client.client_id)
        self.grants[client.client_id] = grant
        return 200, self._token_body(grant), {}

    def _refresh(self, client: Client, refresh_token: str) -> TokenAnswer:
        grant = self.grants.get(client.client_id)
        now = self.state.now()
        if grant is None:
            return 400, {"error": "invalid_request"}, {}
        refused = self._refusal(grant, refresh_token, now)
        if refused is not None:
            return refused
        grant.used_refresh_tokens.add(grant.refresh_token)
        grant.access_token, grant.access_issued_at = _new_token("AAEA"), now
        grant.refresh_token, grant.refresh_issued_at = _new_token("__1P!I"), now
        return 200, self._token_body(grant), {}

    def _refusal(self, grant: Grant, refresh_token: str, now: float) -> TokenAnswer | None:
        """Why this refresh is refused, in Exact's words, or None when it may go ahead."""
        if grant.revoked:
            return 400, {"error": "invalid_request", "error_description": "The grant has been revoked."}, {}
        if refresh_token in grant.used_refresh_tokens:
            return 401, {"error": "unauthorized_client", "error_description": "Old refresh token used."}, {}
        if refresh_token != grant.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Unknown refresh token."}, {}
        expires = grant.refresh_issued_at + self.lifetimes.refresh_token
        if now >= expires:
            return 400, {"error": "invalid_request", "error_description": _expired_text(expires, now)}, {}
        if now - grant.access_issued_at < self.lifetimes.min_refresh_age:
            text = "Rate limit exceeded: access_token not expired"
            reason = {"Reason": f"TooEarlyToRefreshTokens: {text}"}
            return 400, {"error": "access_denied", "error_description": text}, reason
        return None

    def _token_body(self, grant: Grant) -> dict[str, Any]:
        return {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": str(int(self.lifetimes.access_token)),
            "refresh_token": grant.refresh_token,
        }


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _expired_text(expired_at: float, now: float) -> str:
    fmt = "%m/%d/%Y %I:%M:%S %p"
    at = datetime.fromtimestamp(expired_at, tz=UTC).strftime(fmt)
    current = datetime.fromtimestamp(now, tz=UTC).strftime(fmt)
    return f"The refresh token expired at {at} and it is now {current}."
