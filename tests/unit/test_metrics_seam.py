"""The call-counting seam: endpoints keep no ids (one label per endpoint), and a failing observer breaks nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector import metrics


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        (
            "https://start.exactonline.nl/api/v1/100001/purchaseentry/PurchaseEntries",
            "/api/v1/{id}/purchaseentry/PurchaseEntries",
        ),
        (
            "https://x/api/v1/42/purchaseentry/PurchaseEntries(guid'6a86b1e9-5822-51a3-96a9-2d99c93315ca')?$select=ID",
            "/api/v1/{id}/purchaseentry/PurchaseEntries(id)",
        ),
        (
            "https://api.basware.com/v1/accountingDocuments/112c7f97a4ea4ef7a1eb1b455fe041b1/acknowledge",
            "/v1/accountingDocuments/{id}/acknowledge",
        ),
        ("https://x/api/v1/current/Me", "/api/v1/current/Me"),
    ],
)
def test_endpoints_carry_no_ids(url: str, endpoint: str) -> None:
    assert metrics.endpoint_of(url) == endpoint


@pytest.fixture
def seen() -> Iterator[list[metrics.Call]]:
    calls: list[metrics.Call] = []
    metrics.add_observer(calls.append)
    yield calls
    metrics.remove_observer(calls.append)


def test_observers_hear_the_status_or_none_when_no_answer_came(seen: list[metrics.Call]) -> None:
    with metrics.timed_call("exact", "POST", "https://x/api/v1/7/crm/Accounts") as call:
        call.status = 429
    with pytest.raises(ConnectionError), metrics.timed_call("basware", "GET", "https://y/v1/vendors"):
        raise ConnectionError("down")

    assert [(c.system, c.method, c.endpoint, c.status) for c in seen] == [
        ("exact", "POST", "/api/v1/{id}/crm/Accounts", 429),
        ("basware", "GET", "/v1/vendors", None),
    ]


def test_a_failing_observer_never_fails_the_call(seen: list[metrics.Call]) -> None:
    def broken(_call: metrics.Call) -> None:
        raise RuntimeError("metrics backend gone")

    metrics.add_observer(broken)
    try:
        with metrics.timed_call("exact", "GET", "https://x/api/v1/1/crm/Accounts") as call:
            call.status = 200
    finally:
        metrics.remove_observer(broken)

    assert [c.status for c in seen] == [200]


def test_a_429_is_counted_as_rate_limited_by_the_worker() -> None:
    from workers import metrics as worker_metrics

    before = worker_metrics.RATE_LIMITED.labels(system="exact")._value.get()
    worker_metrics.count_call(metrics.Call("exact", "GET", "/api/v1/{id}/crm/Accounts", 429, 0.01))

    assert worker_metrics.RATE_LIMITED.labels(system="exact")._value.get() == before + 1
