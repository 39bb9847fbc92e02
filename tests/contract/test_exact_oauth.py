"""The Exact grant against the sandbox: consent, single-use codes, rotation, early refresh, dead grants."""

from __future__ import annotations

import pytest
import requests

from connector.errors import FatalAPIError, ReauthRequired
from connector.exact.auth import ExactOAuth, TokenManager, TooEarlyToRefresh
from connector.exact.client import ExactClient
from connector.exact.tokens import ExactTokens
from tests.contract.exact_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    DIVISION,
    REDIRECT_URI,
    Exact,
    FakeClock,
    consent,
    running_exact,
    stored,
)


@pytest.fixture
def exact() -> Exact:
    with running_exact() as running:
        yield running


def test_consent_exchange_and_me_give_the_division(exact: Exact) -> None:
    tokens = stored(exact)
    assert tokens.expires_at - tokens.issued_at == 600  # from the string "600"
    assert exact.client.me()["Email"] == "demo@example.com"
    assert exact.client.current_division() == DIVISION


def test_division_is_read_from_me_when_not_configured(exact: Exact) -> None:
    from connector.exact.client import ExactClient

    client = ExactClient(exact.url, exact.tokens, session=exact.session)
    assert client.division == DIVISION
    assert len(client.journals()) == 3


def test_an_authorization_code_works_once(exact: Exact) -> None:
    code = consent(exact.session, exact.oauth)
    exact.oauth.exchange_code(code)
    with pytest.raises(FatalAPIError) as caught:
        exact.oauth.exchange_code(code)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_grant"


def test_a_wrong_client_secret_is_refused_without_being_shown(exact: Exact) -> None:
    code = consent(exact.session, exact.oauth)
    wrong = ExactOAuth(exact.url, CLIENT_ID, "not-the-secret", REDIRECT_URI, session=exact.session)
    with pytest.raises(FatalAPIError) as caught:
        wrong.exchange_code(code)
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value) + repr(wrong)


def test_refresh_rotates_and_the_old_refresh_token_is_dead(exact: Exact) -> None:
    first = stored(exact)
    exact.clock.advance(580)
    second = exact.oauth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(ReauthRequired) as caught:
        exact.oauth.refresh(first.refresh_token)
    assert caught.value.status == 401
    assert "Old refresh token used" in str(caught.value)
    assert first.refresh_token not in str(caught.value) + caught.value.body_excerpt


def test_reusing_an_old_refresh_token_marks_the_store_dead(exact: Exact) -> None:
    old = stored(exact)
    exact.clock.advance(580)
    exact.oauth.refresh(old.refresh_token)  # someone outside the store rotated the grant
    with pytest.raises(ReauthRequired):
        exact.tokens.access_token()
    assert exact.store.dead_reason is not None
    assert "Old refresh token used" in exact.store.dead_reason


def test_a_too_early_refresh_keeps_the_stored_token(exact: Exact) -> None:
    tokens = stored(exact)
    with pytest.raises(TooEarlyToRefresh):
        exact.oauth.refresh(tokens.refresh_token)
    assert exact.tokens.force_refresh(tokens.access_token) == tokens.access_token
    assert exact.client.me()["CurrentDivision"] == DIVISION
    assert exact.store.dead_reason is None
    assert exact.sandbox.token_log[-1][2].startswith("access_denied")


def test_the_token_manager_refreshes_when_the_token_runs_out(exact: Exact) -> None:
    before = stored(exact)
    exact.client.journals()
    exact.clock.advance(575)  # inside the 30 s margin and past Exact's 570 s minimum age
    exact.client.journals()
    after = stored(exact)
    assert after.access_token != before.access_token
    assert exact.store.saves == 1
    assert [event[:2] for event in exact.sandbox.token_log] == [("code", True), ("refresh", True)]


def test_expiry_follows_expires_in() -> None:
    clock = FakeClock()
    with running_exact(clock=clock, access_token_lifetime=2, min_refresh_age=1, margin=0.5) as exact:
        first = stored(exact)
        assert first.expires_at == first.issued_at + 2
        # The manager's minimum age must match the sandbox's 1 s, as Exact's 570 s matches the default.
        manager = TokenManager(exact.oauth, exact.store, clock=clock, margin=0.5, min_age=1)
        client = ExactClient(exact.url, manager, division=DIVISION, session=exact.session)
        client.journals()
        clock.advance(1.6)
        client.journals()
        clock.advance(3)  # the second token expired too: refresh again rather than send a dead token
        client.journals()
        assert [kind for kind, ok, _ in exact.sandbox.token_log if ok] == ["code", "refresh", "refresh"]


def test_an_api_401_triggers_one_refresh_and_a_retry() -> None:
    with running_exact(min_refresh_age=100) as exact:
        old = stored(exact)
        exact.clock.advance(100)
        rotated = exact.oauth.refresh(old.refresh_token)  # revokes the access token still in the store
        exact.store.save(ExactTokens(old.access_token, rotated.refresh_token, rotated.issued_at, rotated.expires_at))
        exact.clock.advance(100)
        assert len(exact.client.journals()) == 3
        assert stored(exact).access_token not in (old.access_token, rotated.access_token)
        assert exact.sandbox.token_log[-1][:2] == ("refresh", True)


def test_an_expired_refresh_token_needs_a_new_consent() -> None:
    with running_exact(refresh_token_lifetime=3600) as exact:
        exact.clock.advance(3601)
        with pytest.raises(ReauthRequired) as caught:
            exact.client.journals()
        assert caught.value.code == "invalid_request"
        assert "expired" in str(caught.value)
        assert exact.store.dead_reason is not None


def test_a_revoked_grant_needs_a_new_consent(exact: Exact) -> None:
    exact.sandbox.revoke_grant()
    exact.clock.advance(600)
    with pytest.raises(ReauthRequired):
        exact.client.journals()
    assert exact.store.dead_reason is not None


def test_the_consent_url_points_at_the_regional_host(exact: Exact) -> None:
    url = exact.oauth.authorization_url("abc")
    assert url.startswith(f"{exact.url}/api/oauth2/auth?")
    assert "response_type=code" in url and f"client_id={CLIENT_ID}" in url
    response = requests.get(
        url.replace(CLIENT_ID, "someone-else"), allow_redirects=False, timeout=5
    )  # an unknown app gets no code
    assert response.status_code == 400
    assert CLIENT_SECRET not in url
