"""The grant's token chain on a real store: min age, counted calls, a lock always released, one dead alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from connector import jsonutil
from connector.config import load_settings
from connector.errors import ConfigurationError, FatalAPIError, ReauthRequired, RetriableAPIError, StorageUnavailable
from connector.exact.auth import ExactOAuth, TokenManager
from connector.exact.tokens import ExactTokens
from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import audit
from connector.store.db import exact_tokens, locks
from connector.store.tokens import DbTokenStore, token_health
from connector.sync import grants
from connector.sync.services import Services
from ml_connector import cli
from tests.support import Sandboxes, ScriptedOAuth, add_tenant, plain_tenant, tokens


@pytest.fixture
def svc(sqlite_services: Services) -> Services:
    return sqlite_services


@pytest.fixture
def store(svc: Services) -> DbTokenStore:
    tenant = plain_tenant(svc)
    store = svc.token_store(tenant)
    store.save(tokens(1, issued_at=1000.0))
    return store


def manager(store: Any, oauth: ScriptedOAuth, now: float) -> TokenManager:
    return TokenManager(oauth, store, clock=lambda: now)  # type: ignore[arg-type]


def held_locks(svc: Services) -> list[str]:
    with svc.db.begin() as conn:
        return [row.name for row in conn.execute(sa.select(locks))]


def test_a_token_inside_the_margin_but_younger_than_570_s_is_used_not_refreshed(store: DbTokenStore) -> None:
    short = tokens(1, issued_at=1000.0, lifetime=580)  # within 30 s of expiry already at 550 s of age
    store.save(short)
    oauth = ScriptedOAuth(tokens(2, issued_at=1560.0))
    assert manager(store, oauth, 1560.0).access_token() == "access-1"
    assert oauth.sent == []  # Exact would refuse it as too early and count it against the 200 a day
    assert manager(store, oauth, 1575.0).access_token() == "access-2"


@pytest.mark.parametrize(
    "failure",
    [
        ReauthRequired("Old refresh token used.", system="exact", status=401),
        RetriableAPIError("token endpoint unreachable", system="exact"),
        FatalAPIError("invalid_client", system="exact", status=401),
    ],
)
def test_the_refresh_lock_is_released_whatever_the_token_endpoint_does(
    svc: Services, store: DbTokenStore, failure: Exception
) -> None:
    with pytest.raises(type(failure)):
        manager(store, ScriptedOAuth(failure), 1700.0).access_token()
    assert held_locks(svc) == []  # the next worker does not wait two minutes for a lease nobody holds


def test_new_tokens_are_saved_even_when_the_database_hiccups(store: DbTokenStore) -> None:
    class FlakyStore:
        """Delegates to the real store; the first save fails as if the database blinked."""

        def __init__(self) -> None:
            self.failures = 1

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def save(self, fresh: ExactTokens) -> None:
            if self.failures:
                self.failures -= 1
                raise StorageUnavailable("database unavailable")
            store.save(fresh)

    assert manager(FlakyStore(), ScriptedOAuth(tokens(2, 1700.0)), 1700.0).access_token() == "access-2"
    assert store.load() == tokens(2, 1700.0)


def test_every_token_call_is_counted_per_day_and_a_new_day_starts_at_zero(svc: Services, store: DbTokenStore) -> None:
    oauth = ScriptedOAuth(tokens(2, 1700.0), ReauthRequired("gone", system="exact", status=401))
    manager(store, oauth, 1700.0).access_token()
    with pytest.raises(ReauthRequired):
        manager(store, oauth, 2400.0).access_token()
    assert token_health(svc.db, store.tenant_id)["token_calls"] == 3  # the consent, a refresh, a refused refresh

    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    with svc.db.begin() as conn:
        conn.execute(exact_tokens.update().values(token_calls_day=yesterday))
    assert token_health(svc.db, store.tenant_id)["token_calls"] == 0
    assert store.count_token_call() == 1


def test_a_dead_grant_is_recorded_and_told_once_however_many_workers_find_it(svc: Services) -> None:
    told: list[str] = []
    tenant = plain_tenant(svc)
    DbTokenStore(svc.db, svc.box, tenant.id).save(tokens(1, 1000.0))
    for _ in range(3):
        DbTokenStore(svc.db, svc.box, tenant.id, on_dead=told.append).mark_dead("Old refresh token used.")
    assert told == ["Old refresh token used."]
    assert svc.tenant(tenant.id).grant_status == "dead"
    assert [row["event"] for row in audit.entries(svc.db, tenant_id=tenant.id)] == ["grant_dead"]


def test_a_failing_notification_never_hides_the_dead_grant(svc: Services) -> None:
    def broken(_reason: str) -> None:
        raise RuntimeError("mail server on fire")

    tenant = plain_tenant(svc)
    DbTokenStore(svc.db, svc.box, tenant.id).save(tokens(1, 1000.0))
    store = DbTokenStore(svc.db, svc.box, tenant.id, on_dead=broken)
    with pytest.raises(ReauthRequired):
        manager(store, ScriptedOAuth(ReauthRequired("revoked", system="exact", status=400)), 1700.0).access_token()
    assert svc.tenant(tenant.id).grant_status == "dead"


def test_keep_alive_stops_well_under_exacts_200_calls_a_day_and_says_so(svc: Services) -> None:
    tenant = plain_tenant(svc)
    svc.token_store(tenant).save(tokens(1, time.time() - 2 * 86400))
    with svc.db.begin() as conn:
        conn.execute(exact_tokens.update().values(token_calls=grants.KEEP_ALIVE_CALL_BUDGET))

    assert grants.keep_alive(svc) == 0
    [row] = [r for r in audit.entries(svc.db, tenant_id=tenant.id) if r["event"] == "keep_alive_skipped"]
    assert "150 Exact token calls today" in row["message"]


@pytest.mark.parametrize(
    ("callback", "problem"),
    [
        ("http://127.0.0.1:9/cb?code=abc&state=forged", "wrong state"),
        ("http://127.0.0.1:9/cb?code=abc", "wrong state"),
        ("http://127.0.0.1:9/cb?state=right&error=access_denied", "consent refused"),
        ("http://127.0.0.1:9/cb?state=right", "no code"),
    ],
)
def test_a_bad_consent_callback_is_refused(callback: str, problem: str) -> None:
    with pytest.raises(FatalAPIError, match=problem):
        grants.code_from_callback(callback, "right")


# -- the token endpoint answering 429 with new tokens (picqer#559): they must be stored before use -----------


class RateLimitedTokenEndpoint:
    """A token endpoint that rotates the grant but answers 429, as Exact has been seen to do."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        n = len(self.issued) + 2
        self.issued.append(f"refresh-{n}")
        body = {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": "600"}
        start_response("429 Too Many Requests", [("Content-Type", "application/json")])
        return [jsonutil.dumps(body).encode()]


@pytest.fixture
def rate_limited_endpoint() -> Iterator[str]:
    with ServerThread(RateLimitedTokenEndpoint()) as server:
        yield server.url


def test_tokens_that_come_with_a_429_are_stored_before_use(store: DbTokenStore, rate_limited_endpoint: str) -> None:
    with ExactOAuth(rate_limited_endpoint, "app", "secret", "http://127.0.0.1:9/cb", clock=lambda: 1700.0) as oauth:
        token = TokenManager(oauth, store, clock=lambda: 1700.0).access_token()
    assert token == "access-2"
    assert store.load() == tokens(2, 1700.0)  # the old refresh token is dead: only the stored one works now


def test_refresh_timing_comes_from_the_environment_and_nonsense_is_refused() -> None:
    settings = load_settings({"CONNECTOR_EXACT_REFRESH_MARGIN": "1", "CONNECTOR_EXACT_MIN_REFRESH_AGE": "2"})
    assert (settings.exact_refresh_margin, settings.exact_min_refresh_age) == (1.0, 2.0)
    assert (load_settings({}).exact_refresh_margin, load_settings({}).exact_min_refresh_age) == (30.0, 570.0)
    with pytest.raises(ConfigurationError, match="CONNECTOR_EXACT_REFRESH_MARGIN"):
        load_settings({"CONNECTOR_EXACT_REFRESH_MARGIN": "soon"})


def test_status_tells_the_operator_what_needs_them(
    sqlite_services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    svc = sqlite_services
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", svc.settings.database_url)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", svc.settings.secret_key or "")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(svc.settings.data_dir))
    healthy, dead = plain_tenant(svc, name="healthy"), plain_tenant(svc, name="paused")
    svc.token_store(healthy).save(tokens(1, time.time()))
    svc.token_store(dead).save(tokens(1, time.time()))
    svc.token_store(dead).mark_dead("token endpoint refused the request: invalid_request (revoked)")
    assert cli.main(["status"]) == 0  # the command builds its own Services from the environment above

    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if line.startswith("!")]
    assert len(notes) == 1 and "paused" in notes[0] and "ml-connector exact authorize paused" in notes[0]
    assert "last reminder: 20" in notes[0]  # told at once when it died
    assert "DEAD: token endpoint refused the request: invalid_request (revoked)" in out


def test_keep_alive_renews_an_idle_grant_once_and_leaves_a_busy_one_alone(sqlite_services: Services) -> None:
    svc = sqlite_services
    exact, basware = ExactSandbox(), BaswareSandbox()
    exact.add_division()
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        sandboxes = Sandboxes(exact, basware, exact_server.url, basware_server.url)
        idle, busy = add_tenant(svc, sandboxes), add_tenant(svc, sandboxes)
        two_days_ago = time.time() - 2 * 86400
        with svc.db.begin() as conn:
            conn.execute(
                exact_tokens.update()
                .where(exact_tokens.c.tenant_id == idle.id)
                .values(issued_at=two_days_ago, expires_at=two_days_ago + 600, refreshed_at=two_days_ago)
            )
        exact.advance(600)  # Exact's own clock: the access token is old enough to be refreshed

        assert grants.keep_alive(svc) == 1
        assert grants.keep_alive(svc) == 0  # renewed now: not idle any more

    renewed = token_health(svc.db, idle.id)["refreshed_at"]
    assert isinstance(renewed, float) and time.time() - renewed < 60
    assert [(kind, ok) for kind, ok, _ in exact.token_log] == [("code", True), ("code", True), ("refresh", True)]
    assert token_health(svc.db, busy.id)["token_calls"] == 1  # only its consent
