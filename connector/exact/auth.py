"""Exact Online OAuth2: the consent URL, the code exchange, and refreshes that never break the token chain.

Exact rotates the refresh token on every refresh and refuses the old one for good ("Old refresh token
used."), so two processes refreshing at once kill the grant. `TokenManager` therefore refreshes under the
store's cross-process lock, re-reads the store inside it, and saves new tokens before anyone uses them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

from connector.errors import (
    FatalAPIError,
    RateLimited,
    ReauthRequired,
    RetriableAPIError,
    StorageUnavailable,
)
from connector.exact.tokens import MIN_REFRESH_AGE, REFRESH_MARGIN, ExactTokens, TokenStore
from connector.jsonutil import loads
from connector.transport import allow_oauthlib_transport, redirect_refused, send

log = logging.getLogger(__name__)

SYSTEM = "exact"
TOO_EARLY_REASON = "TooEarlyToRefreshTokens"
# On a refresh these codes mean the grant is gone: old token reused, expired, revoked, or unknown.
_DEAD_GRANT_ERRORS = {"unauthorized_client", "invalid_request", "invalid_grant"}
# Exact allows 200 token calls a day per app and user; past this many something refreshes too often.
TOKEN_CALL_WARNING = 150
SAVE_ATTEMPTS = 3
# A token call ends within this, whatever the server does: well inside the refresh lease
# (connector.store.tokens.REFRESH_LEASE), so no second process takes the lease while ours is still talking.
REFRESH_DEADLINE = 60.0


class TooEarlyToRefresh(FatalAPIError):
    """Exact refused a refresh because the current access token is younger than 570 s."""


class ExactOAuth:
    """The authorization-code flow against one Exact region (the base URL is part of the credentials)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        session: requests.Session | None = None,
        *,
        timeout: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        allow_oauthlib_transport(self.base_url)  # https, or http to a loopback sandbox; else ConfigurationError
        self._oauth = WebApplicationClient(client_id)
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:  # keep the secret out of reprs and tracebacks
        return f"ExactOAuth(base_url={self.base_url!r}, client_id={self.client_id!r})"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/oauth2/token"

    def authorization_url(self, state: str, *, force_login: bool = False) -> str:
        """Where to send the user's browser to consent; Exact redirects back with `code` and `state`."""
        extra = {"force_login": "1"} if force_login else {}
        url: str = self._oauth.prepare_request_uri(
            f"{self.base_url}/api/oauth2/auth", redirect_uri=self.redirect_uri, state=state, **extra
        )
        return url

    def exchange_code(self, code: str) -> ExactTokens:
        """Trade a single-use authorization code for the first tokens of a grant."""
        body = self._oauth.prepare_request_body(
            code=code, redirect_uri=self.redirect_uri, client_secret=self._client_secret
        )
        return self._token_request(body, refreshing=False)

    def refresh(self, refresh_token: str) -> ExactTokens:
        """Trade the current refresh token for new tokens; the old refresh token dies at once."""
        body = self._oauth.prepare_refresh_body(
            refresh_token=refresh_token, client_id=self.client_id, client_secret=self._client_secret
        )
        return self._token_request(body, refreshing=True)

    def close(self) -> None:
        """Close the HTTP session if this object created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> ExactOAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _token_request(self, form: str, *, refreshing: bool) -> ExactTokens:
        """POST a prepared form to the token endpoint; never to another host (a redirect is refused)."""
        headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = send(
                self._session,
                "POST",
                self.token_url,
                deadline=min(self._timeout, REFRESH_DEADLINE),
                data=form,
                headers=headers,
                allow_redirects=False,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise RetriableAPIError(f"token endpoint unreachable ({type(exc).__name__})", system=SYSTEM) from None
        if response.is_redirect:
            raise redirect_refused(response, SYSTEM)
        body = _json_or_none(response)
        tokens = self._tokens_from(response) if isinstance(body, dict) and body.get("refresh_token") else None
        if tokens is not None:
            # Whatever carries tokens is kept, even a 429: Exact rotated the grant regardless.
            if response.status_code != 200:
                log.warning("Exact token endpoint answered %s with new tokens; keeping them", response.status_code)
            return tokens
        raise _token_error(response, body, refreshing=refreshing)

    def _tokens_from(self, response: requests.Response) -> ExactTokens | None:
        """The tokens of a response, parsed and checked by oauthlib; None when it carries none."""
        try:
            token = self._oauth.parse_request_body_response(response.text)
        except (OAuth2Error, ValueError):
            return None
        now = self._clock()
        lifetime = int(str(token.get("expires_in", "600")).strip() or "600")  # Exact sends a string
        return ExactTokens(
            access_token=str(token["access_token"]),
            refresh_token=str(token["refresh_token"]),
            issued_at=now,
            expires_at=now + lifetime,
        )


def _json_or_none(response: requests.Response) -> Any:
    try:
        return loads(response.content) if response.content else None
    except ValueError:
        return None


def _token_error(response: requests.Response, body: Any, *, refreshing: bool) -> Exception:
    """Classify a token-endpoint failure; the excerpt holds only the error fields, never a token."""
    status = response.status_code
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    safe_body = f"{error}: {description}" if error else None
    text = f"token endpoint refused the request: {error or 'HTTP ' + str(status)}"
    if description:
        text += f" ({description})"
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "body": safe_body, "code": error or None}
    log.warning("Exact token call failed: status=%s error=%s", status, error or "-")
    if TOO_EARLY_REASON in response.headers.get("Reason", ""):
        return TooEarlyToRefresh(text, **common)
    if status == 429:
        return RateLimited(text, retry_at=time.time() + 60, **common)
    if status >= 500:
        return RetriableAPIError(text, **common)
    if refreshing and error in _DEAD_GRANT_ERRORS:
        return ReauthRequired(text, **common)
    return FatalAPIError(text, **common)


@runtime_checkable
class CountsTokenCalls(Protocol):
    """A token store that also counts calls to the token endpoint (Exact allows 200 a day per app and user)."""

    def count_token_call(self) -> int:
        """Note one call to the token endpoint; returns how many were made today."""
        ...


class TokenManager:
    """Hands out a valid access token; refreshes single-flight under the store's lock and persists first."""

    def __init__(
        self,
        oauth: ExactOAuth,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
        *,
        margin: float = REFRESH_MARGIN,
        min_age: float = MIN_REFRESH_AGE,
    ) -> None:
        self._oauth = oauth
        self._store = store
        self._clock = clock
        self._margin = margin
        self._min_age = min_age

    def access_token(self) -> str:
        """A token with more than `margin` seconds left, refreshing (once, across processes) if needed."""
        tokens = self._store.load()
        if tokens is not None and not self._is_due(tokens):
            return tokens.access_token
        with self._store.lock():
            tokens = self._load_or_fail()
            if not self._is_due(tokens):
                return tokens.access_token  # another worker refreshed while we waited for the lock
            return self._refresh_locked(tokens).access_token

    def force_refresh(self, stale_access_token: str) -> str:
        """After an API 401: refresh unless another worker already replaced the stale token.

        The minimum age is not applied here: a 401 on a young token means the grant itself may be gone, and
        only the token endpoint can say so (a too-early answer costs one call and changes nothing).
        """
        with self._store.lock():
            tokens = self._load_or_fail()
            if tokens.access_token != stale_access_token:
                return tokens.access_token
            return self._refresh_locked(tokens).access_token

    def _is_due(self, tokens: ExactTokens) -> bool:
        """Little life left, and old enough that Exact accepts a refresh (or already expired)."""
        now = self._clock()
        if not tokens.needs_refresh(now, self._margin):
            return False
        return tokens.may_refresh(now, self._min_age) or now >= tokens.expires_at

    def _load_or_fail(self) -> ExactTokens:
        tokens = self._store.load()
        if tokens is None:
            raise ReauthRequired("no Exact tokens stored: a user must consent first", system=SYSTEM)
        return tokens

    def _refresh_locked(self, tokens: ExactTokens) -> ExactTokens:
        self._count_call()
        try:
            fresh = self._oauth.refresh(tokens.refresh_token)
        except TooEarlyToRefresh:
            # Exact says the current access token is still good: use what is stored.
            return self._store.load() or tokens
        except ReauthRequired as exc:
            current = self._store.load()
            if current is not None and current.refresh_token != tokens.refresh_token:
                # Another process refreshed while our call was slow (our lease had run out): the grant lives.
                log.warning("Exact refused a refresh token another process had already rotated; using theirs")
                return current
            self._store.mark_dead(str(exc))
            raise
        self._save(fresh)  # persist before use: the old refresh token is already dead
        return fresh

    def _count_call(self) -> None:
        if not isinstance(self._store, CountsTokenCalls):
            return
        calls = self._store.count_token_call()
        if calls > TOKEN_CALL_WARNING:
            log.warning("Exact token endpoint called %d times today for this grant (Exact allows 200)", calls)

    def _save(self, fresh: ExactTokens) -> None:
        """Store new tokens, trying again on a passing database failure: losing them kills the grant."""
        for attempt in range(SAVE_ATTEMPTS):
            try:
                self._store.save(fresh)
                return
            except StorageUnavailable:
                if attempt == SAVE_ATTEMPTS - 1:
                    log.critical("new Exact tokens could not be stored; the grant will need a new consent")
                    raise
                time.sleep(0.5 * (attempt + 1))
