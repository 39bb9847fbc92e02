"""Token freshness and the single-flight TokenManager, with a scripted token endpoint."""

from __future__ import annotations

import pytest

from connector.errors import ReauthRequired, RetriableAPIError
from connector.exact.auth import TokenManager, TooEarlyToRefresh
from connector.exact.tokens import ExactTokens, MemoryTokenStore
from tests.support import ScriptedOAuth, tokens


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("now", "needs_refresh", "may_refresh"),
    [(1000, False, False), (1569, False, False), (1570, False, True), (1571, True, True), (1700, True, True)],
)
def test_freshness_rules(now: float, needs_refresh: bool, may_refresh: bool) -> None:
    current = tokens(1)
    assert current.needs_refresh(now) is needs_refresh
    assert current.may_refresh(now) is may_refresh


def test_tokens_never_show_in_repr() -> None:
    assert "access-1" not in repr(tokens(1)) and "refresh-1" not in repr(tokens(1))


def manager(store: MemoryTokenStore, oauth: ScriptedOAuth, now: float) -> TokenManager:
    return TokenManager(oauth, store, clock=Clock(now))  # type: ignore[arg-type]


def test_a_fresh_token_is_used_without_a_refresh() -> None:
    store, oauth = MemoryTokenStore(tokens(1)), ScriptedOAuth()
    assert manager(store, oauth, 1100).access_token() == "access-1"
    assert oauth.sent == []


def test_a_due_token_is_refreshed_and_saved_first() -> None:
    store, oauth = MemoryTokenStore(tokens(1)), ScriptedOAuth(tokens(2, issued_at=1580))
    assert manager(store, oauth, 1580).access_token() == "access-2"
    assert oauth.sent == ["refresh-1"]
    assert store.tokens == tokens(2, issued_at=1580) and store.saves == 1


def test_a_refresh_done_by_another_worker_is_picked_up_inside_the_lock() -> None:
    store = MemoryTokenStore(tokens(1))
    oauth = ScriptedOAuth()

    class RacingStore(MemoryTokenStore):
        """The first load sees the old tokens; by the time the lock is held, another worker has saved."""

        loads = 0

        def load(self) -> ExactTokens | None:
            RacingStore.loads += 1
            return tokens(1) if RacingStore.loads == 1 else tokens(2, issued_at=1580)

    assert manager(RacingStore(), oauth, 1580).access_token() == "access-2"
    assert oauth.sent == [] and store.saves == 0


def test_too_early_falls_back_to_the_stored_token() -> None:
    too_early = TooEarlyToRefresh("too early", system="exact", status=400)
    store, oauth = MemoryTokenStore(tokens(1)), ScriptedOAuth(too_early)
    assert manager(store, oauth, 1575).access_token() == "access-1"
    assert store.dead_reason is None and store.saves == 0


def test_a_dead_grant_marks_the_store_and_is_raised() -> None:
    dead = ReauthRequired("Old refresh token used.", system="exact", status=401)
    store, oauth = MemoryTokenStore(tokens(1)), ScriptedOAuth(dead)
    with pytest.raises(ReauthRequired):
        manager(store, oauth, 1700).access_token()
    assert store.dead_reason is not None and "Old refresh token used" in store.dead_reason


def test_a_passing_failure_leaves_the_store_alone() -> None:
    store, oauth = MemoryTokenStore(tokens(1)), ScriptedOAuth(RetriableAPIError("down", system="exact"))
    with pytest.raises(RetriableAPIError):
        manager(store, oauth, 1700).access_token()
    assert store.dead_reason is None and store.tokens == tokens(1)


def test_no_stored_tokens_means_consent_is_needed() -> None:
    with pytest.raises(ReauthRequired):
        manager(MemoryTokenStore(), ScriptedOAuth(), 0).access_token()


def test_force_refresh_only_replaces_the_stale_token() -> None:
    store, oauth = MemoryTokenStore(tokens(2)), ScriptedOAuth(tokens(3, issued_at=1200))
    tm = manager(store, oauth, 1200)
    assert tm.force_refresh("access-1") == "access-2"  # someone already replaced access-1
    assert oauth.sent == []
    assert tm.force_refresh("access-2") == "access-3"
    assert oauth.sent == ["refresh-2"] and store.tokens == tokens(3, issued_at=1200)


class _RotatedMeanwhile(ScriptedOAuth):
    """Another process refreshed and saved while our call was slow (our lease ran out); Exact then refuses ours."""

    def __init__(self, store: MemoryTokenStore, newer: ExactTokens) -> None:
        super().__init__(ReauthRequired("Old refresh token used.", system="exact", status=401))
        self.store, self.newer = store, newer

    def refresh(self, refresh_token: str) -> ExactTokens:
        self.store.save(self.newer)
        return super().refresh(refresh_token)


def test_a_grant_refreshed_elsewhere_during_our_call_is_not_declared_dead() -> None:
    store = MemoryTokenStore(tokens(1))
    manager = TokenManager(_RotatedMeanwhile(store, tokens(2, issued_at=1590)), store, clock=lambda: 1590.0)

    assert manager.access_token() == "access-2"
    assert store.dead_reason is None


def test_every_refresh_has_a_total_deadline_shorter_than_its_lease() -> None:
    from connector.exact.auth import REFRESH_DEADLINE
    from connector.store.tokens import REFRESH_LEASE

    assert REFRESH_DEADLINE < REFRESH_LEASE
