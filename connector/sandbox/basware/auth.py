"""Client-credentials tokens and per-API scopes for the Basware sandbox.

Sourced (docs/api-facts.md, Basware: authentication and scopes): `POST /v1/tokens` with the client's Basic
credentials issues a bearer token; Basic auth is a documented alternative on every call; scopes are per API,
`<api>.read` for GET, `<api>.write` for POST/PUT/PATCH, `<api>.delete` for DELETE, and a token carries only the
scopes it was asked for (and the client is allowed). Decision (ours): a client registered without scopes may ask
for any.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from flask import Response, request

from connector.sandbox.basware.core import Core
from connector.sandbox.basware.wire import json_response

_SCOPE_ACCESS = {"GET": "read", "HEAD": "read", "DELETE": "delete"}


class AnyScope:
    """The scopes of a client registered without a restriction: every one."""

    def __contains__(self, scope: object) -> bool:
        return True


ANY_SCOPE = AnyScope()
Scopes = frozenset[str] | AnyScope


def required_scope(method: str, path: str) -> str:
    """The scope a `/v1/<api>/...` call needs: `<api>.read` for GET, `.delete` for DELETE, else `.write`."""
    api = path.removeprefix("/v1/").split("/", 1)[0]
    return f"{api}.{_SCOPE_ACCESS.get(method.upper(), 'write')}"


class Tokens:
    """Registered clients, the tokens issued to them and the scopes each token carries."""

    def __init__(self, core: Core, token_lifetime: int) -> None:
        self.core = core
        self.token_lifetime = token_lifetime
        self.token_calls = 0
        self._clients: dict[str, str] = {}
        self._client_scopes: dict[str, frozenset[str] | None] = {}
        self._tokens: dict[str, tuple[float, frozenset[str]]] = {}

    def register_client(self, client_id: str, client_secret: str, scopes: Iterable[str] | None = None) -> None:
        """Allow a client id and secret to obtain tokens, for `scopes` only when given (else any scope)."""
        with self.core.lock:
            self._clients[client_id] = client_secret
            self._client_scopes[client_id] = None if scopes is None else frozenset(scopes)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as if Basware had rotated its keys."""
        with self.core.lock:
            self._tokens.clear()

    def post_token(self) -> Response:
        """`POST /v1/tokens`: a bearer token for the scopes asked for that the client may have."""
        with self.core.lock:
            self.token_calls += 1
        grant_type, scope = request.form.get("grant_type"), request.form.get("scope")
        if not grant_type:
            return json_response({"error": "invalid_request", "error_description": "grant_type field required"}, 400)
        if not scope:
            return json_response({"error": "invalid_request", "error_description": "scope field required"}, 400)
        if not self.is_client(request.authorization):
            return json_response({"error": "invalid_client"}, 401)
        if grant_type != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        token = secrets.token_urlsafe(32)
        with self.core.lock:
            allowed = self._client_scopes.get(request.authorization.username or "")  # type: ignore[union-attr]
            granted = frozenset(scope.split()) if allowed is None else frozenset(scope.split()) & allowed
            self._tokens[token] = (self.core.clock() + self.token_lifetime, granted)
        body = {
            "access_token": token,
            "scope": " ".join(sorted(granted)),
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
        }
        return json_response(body)

    def granted_scopes(self) -> Scopes | None:
        """The scopes the call's credentials carry, or None when they are not valid at all."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            with self.core.lock:
                expires_at, scopes = self._tokens.get(value.strip(), (0.0, frozenset()))
            return scopes if self.core.clock() < expires_at else None
        # Basic auth is a documented alternative to OAuth2 on the P2P API; it carries the client's own scopes.
        auth = request.authorization
        if auth is None or scheme.lower() != "basic" or not self.is_client(auth):
            return None
        with self.core.lock:
            allowed = self._client_scopes.get(auth.username or "")
        return ANY_SCOPE if allowed is None else allowed

    def is_client(self, auth: Any) -> bool:
        """True when Basic credentials name a registered client with its secret."""
        if auth is None or auth.type != "basic" or auth.username is None:
            return False
        with self.core.lock:
            secret = self._clients.get(auth.username)
        return secret is not None and hmac.compare_digest(secret.encode(), (auth.password or "").encode())
