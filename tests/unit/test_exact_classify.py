"""How Exact responses map onto the connector's exception tree."""

from __future__ import annotations

import pytest

from connector.errors import FatalAPIError, RateLimited, RetriableAPIError
from connector.exact.answers import RateLimitInfo, classify, retry_at
from connector.jsonutil import dumps


def odata_error(text: str) -> bytes:
    return dumps({"error": {"code": "", "message": {"lang": "", "value": text}}}).encode()


@pytest.mark.parametrize("status", [200, 201, 204, 302])
def test_success_is_not_an_error(status: int) -> None:
    assert classify("GET", status, {}, b"") is None


@pytest.mark.parametrize(
    ("method", "status", "body", "expected"),
    [
        ("POST", 500, odata_error("Mandatory: Relationship\r\nInvalid reference: Cost unit"), FatalAPIError),
        ("PUT", 500, odata_error("Invalid reference: G/L account"), FatalAPIError),
        ("POST", 500, b"", RetriableAPIError),  # no validation message: an outage, not a refusal
        ("GET", 500, odata_error("Something broke"), RetriableAPIError),
        ("GET", 502, b"<html>", RetriableAPIError),
        ("POST", 503, b"", RetriableAPIError),
        ("GET", 504, b"", RetriableAPIError),
        ("GET", 400, odata_error("Bad Request - Error in query syntax."), FatalAPIError),
        ("GET", 401, b"", FatalAPIError),
        ("GET", 403, odata_error("Forbidden"), FatalAPIError),
        ("GET", 404, b"", FatalAPIError),
    ],
)
def test_classification(method: str, status: int, body: bytes, expected: type) -> None:
    error = classify(method, status, {}, body)
    assert type(error) is expected
    assert error is not None and error.status == status and error.system == "exact"


def test_validation_messages_are_kept_apart() -> None:
    error = classify("POST", 500, {}, odata_error("Mandatory: Relationship\r\nMandatory: Diary"))
    assert str(error) == "exact: Mandatory: Relationship; Mandatory: Diary (HTTP 500)"


def test_403_reason_is_reported() -> None:
    error = classify("GET", 403, {"Reason": "NoDivisionAccess"}, odata_error("Forbidden"))
    assert "NoDivisionAccess" in str(error)


def test_429_is_rate_limited_until_the_minutely_reset() -> None:
    headers = {"X-RateLimit-Minutely-Reset": "1683879540000", "X-RateLimit-Minutely-Remaining": "0"}
    error = classify("GET", 429, headers, b"")
    assert isinstance(error, RateLimited) and error.retry_at == 1683879540.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Minutely-Reset": "1683879540000"}, 1683879540.0),
        ({"X-RateLimit-Reset": "1683936000000"}, 1683936000.0),
        ({"X-RateLimit-Reset": "1683936000000", "X-RateLimit-Minutely-Reset": "1683879540000"}, 1683879540.0),
        ({}, 1060.0),
        ({"X-RateLimit-Reset": "soon"}, 1060.0),
    ],
)
def test_retry_at(headers: dict[str, str], expected: float) -> None:
    assert retry_at(headers, now=lambda: 1000.0) == expected


def test_rate_limit_info_reads_both_windows() -> None:
    info = RateLimitInfo.from_headers(
        {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4990",
            "X-RateLimit-Reset": "1683936000000",
            "X-RateLimit-Minutely-Limit": "60",
            "X-RateLimit-Minutely-Remaining": "59",
            "X-RateLimit-Minutely-Reset": "1683879540000",
        }
    )
    assert info == RateLimitInfo(5000, 4990, 1683936000.0, 60, 59, 1683879540.0)
