"""OAuth2 client credentials for the Basware API: fetch, cache and renew a bearer token.

The token endpoint is `POST {base}/v1/tokens` with a form body and the client id and secret as HTTP Basic
credentials (docs/api-facts.md#basware-tokens-and-scopes). There is no refresh token: when the cached token nears its
`expires_in`, or the API answers 401, we simply ask for a new one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import AuthBase, HTTPBasicAuth

from connector import jsonutil
from connector.basware.scopes import requested_scope
from connector.errors import APIError, FatalAPIError, RateLimited, RetriableAPIError
from connector.transport import redirect_refused, send

log = logging.getLogger(__name__)

SYSTEM = "basware"
# Renew this long before expiry so a token never dies between our check and Basware's; capped at a tenth
# of the lifetime so short-lived tokens (tests, odd tenants) are still reused.
RENEWAL_MARGIN = 60.0
DEFAULT_RETRY_AFTER = 60.0
DEFAULT_LIFETIME = 3600.0


class SharedTokenStore(Protocol):
    """Where processes of one tenant share the token (connector.store.basware_tokens)."""

    def load(self) -> tuple[str, float] | None:
        """(token, renew-at epoch s) or None."""
        ...

    def save(self, token: str, expires_at: float) -> None:
        """Store a new token for every process."""
        ...

    def discard(self, token: str) -> None:
        """Forget the token if it is still the stored one."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """A lock every process sharing the store respects."""
        ...


class ClientCredentialsAuth(AuthBase):
    """A `requests` auth that adds `Authorization: Bearer …`, fetching and caching the token thread-safely."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 30,
        clock: Callable[[], float] = time.time,
        store: SharedTokenStore | None = None,
        max_lifetime: float = DEFAULT_LIFETIME,
    ) -> None:
        self.token_url = base_url.rstrip("/") + "/v1/tokens"
        self.client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._session = session
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._store = store
        self._max_lifetime = max_lifetime

    def __repr__(self) -> str:
        # Never show the secret or the token, even in a debugger or a traceback's locals.
        return f"ClientCredentialsAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        """A valid access token: the cached one, the one another process stored, or a new one."""
        with self._lock:
            if self._token is None or self.is_expired():
                self._token, self._expires_at = self._shared() if self._store is not None else self._new()
            return self._token

    def is_expired(self) -> bool:
        """True when the cached token is within the renewal margin of its expiry."""
        return self._clock() >= self._expires_at

    def invalidate(self) -> None:
        """Forget the cached token (after a 401) so the next request fetches a new one."""
        with self._lock:
            stale, self._token, self._expires_at = self._token, None, 0.0
        if stale is not None and self._store is not None:
            self._store.discard(stale)  # other processes must not keep sending a refused token

    @property
    def scope(self) -> str:
        """The scopes asked for: the given ones, else those of every call the client declares."""
        return self._scope or requested_scope()

    def missing_scopes(self) -> list[str]:
        """The asked-for scopes a fresh token does not carry (from the token response's `scope` field)."""
        granted = self._token_payload().get("scope")
        if not isinstance(granted, str):
            return []  # Basware did not say; the per-API probes in `BaswareClient.ping` still tell
        return sorted(set(self.scope.split()) - set(granted.split()))

    def _new(self) -> tuple[str, float]:
        """Fetch a token; returns it with the moment to renew it."""
        token, lifetime = self._fetch()
        lifetime = min(lifetime, self._max_lifetime)
        return token, self._clock() + lifetime - min(RENEWAL_MARGIN, lifetime / 10)

    def _shared(self) -> tuple[str, float]:
        """The stored token if still good, else a new one fetched and stored under the cross-process lock."""
        assert self._store is not None
        stored = self._store.load()
        if stored is not None and self._clock() < stored[1]:
            return stored
        with self._store.lock():
            stored = self._store.load()  # another process may have renewed while we waited
            if stored is not None and self._clock() < stored[1]:
                return stored
            token, renew_at = self._new()
            self._store.save(token, renew_at)
            return token, renew_at

    def _fetch(self) -> tuple[str, float]:
        payload = self._token_payload()
        try:
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise RetriableAPIError("token response is not readable", system=SYSTEM, status=200) from None
        log.info("basware token issued for client %s, valid %.0f s", self.client_id, lifetime)
        return token, lifetime

    def _token_payload(self) -> dict[str, Any]:
        """A new token response as a dict; errors classified, never naming a credential."""
        response = self._post_token_request()
        if response.is_redirect:
            raise redirect_refused(response, SYSTEM)
        if response.status_code != 200:
            raise _token_error(response)
        try:
            payload = jsonutil.loads(response.content)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise RetriableAPIError("token response is not readable", system=SYSTEM, status=response.status_code)
        return payload

    def _post_token_request(self) -> requests.Response:
        # oauthlib writes the form; the client id and secret go as HTTP Basic credentials, as Basware asks.
        data = BackendApplicationClient(self.client_id).prepare_request_body(scope=self.scope, include_client_id=False)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "X-BW-REQUEST-ID": str(uuid.uuid4()),
        }
        basic = HTTPBasicAuth(self.client_id, self._client_secret)
        # No redirect: a 307 would replay the credentials to wherever it points.
        options: dict[str, Any] = {"deadline": self.timeout, "allow_redirects": False}
        try:
            if self._session is not None:
                return send(self._session, "POST", self.token_url, data=data, headers=headers, auth=basic, **options)
            with requests.Session() as session:
                return send(session, "POST", self.token_url, data=data, headers=headers, auth=basic, **options)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableAPIError(f"token endpoint unreachable ({type(exc).__name__})", system=SYSTEM) from None
        except requests.RequestException as exc:
            raise FatalAPIError(f"token request failed ({type(exc).__name__})", system=SYSTEM) from None


def _token_error(response: requests.Response) -> APIError:
    """Classify a failed token response; the message names the OAuth error code, never a credential."""
    status = response.status_code
    request_id = response.headers.get("x-amzn-RequestId")
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "request_id": request_id}
    if status == 401:
        return FatalAPIError("invalid client credentials", code="invalid_client", **common)
    if status == 429:
        return RateLimited("token endpoint rate limited", retry_at=time.time() + DEFAULT_RETRY_AFTER, **common)
    if status >= 500:
        return RetriableAPIError("token endpoint unavailable", body=response.content, **common)
    code = _oauth_error_code(response)
    return FatalAPIError(f"token request rejected ({code or 'no error code'})", code=code, **common)


def _oauth_error_code(response: requests.Response) -> str | None:
    try:
        payload = jsonutil.loads(response.content)
    except ValueError:
        return None
    return str(payload.get("error")) if isinstance(payload, dict) and payload.get("error") else None
