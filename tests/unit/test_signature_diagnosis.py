"""When a push signature fails, the diagnosis names headers and encodings, never a value."""

from __future__ import annotations

import base64

import pytest

from connector.basware.signature import ENCODINGS_TRIED, diagnose, sign
from tests.unit.test_signature import BODY, RAW, SECRET

HEADER = "X-BW-Signature"


def test_a_missing_header_names_every_header_present_and_the_encodings_tried() -> None:
    headers = {"Content-Type": "application/json", "X-Request-Id": "abc-123", "User-Agent": "PushAgent/1.0"}

    diagnosis = diagnose(SECRET, BODY, headers, HEADER)

    assert diagnosis.expected_header == HEADER and not diagnosis.expected_present
    assert diagnosis.present == ("Content-Type", "User-Agent", "X-Request-Id")
    text = diagnosis.describe()
    for name in ("Content-Type", "User-Agent", "X-Request-Id", HEADER):
        assert name in text
    for encoding in ENCODINGS_TRIED:
        assert encoding in text
    assert "abc-123" not in text and "PushAgent" not in text


def test_the_encodings_tried_cover_hex_in_both_cases_base64_and_the_prefix() -> None:
    joined = " ".join(ENCODINGS_TRIED)
    for expected in ("hex lower case", "hex upper case", "base64", "url-safe base64", "sha256="):
        assert expected in joined


def test_a_valid_signature_under_another_header_is_pointed_out() -> None:
    headers = {"X-BWAPI-Signature-256": RAW.hex().upper(), "Content-Type": "application/json"}

    diagnosis = diagnose(SECRET, BODY, headers, HEADER)

    assert diagnosis.verifying_headers == ("X-BWAPI-Signature-256",)
    assert "CONNECTOR_SIGNATURE_HEADER=X-BWAPI-Signature-256" in diagnosis.describe()


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("0" * 40, "40 hex characters"),
        ("not a signature!", "16 characters, neither hex nor base64"),
        (base64.b64encode(b"x" * 32).decode(), "base64 of 32 bytes"),
        (base64.urlsafe_b64encode(b"\xfb" * 20).decode(), "base64 of 20 bytes"),
        ("sha256=" + "ab" * 20, "sha256= then 40 hex characters"),
        ("", "empty"),
    ],
)
def test_the_form_of_a_wrong_value_is_described_but_not_the_value(value: str, form: str) -> None:
    diagnosis = diagnose(SECRET, BODY, {HEADER: value}, HEADER)

    assert diagnosis.expected_present and diagnosis.value_form == form
    assert not value or value not in diagnosis.describe()


def test_a_mismatch_never_shows_the_secret_the_expected_or_the_received_signature() -> None:
    wrong = sign("another-secret", BODY)
    diagnosis = diagnose(SECRET, BODY, {HEADER: wrong, "Cookie": "session=s3cr3t"}, HEADER)

    text = diagnosis.describe()
    assert "does not match" in text
    for secret_value in (SECRET, wrong, wrong.upper(), RAW.hex(), RAW.hex().upper(), base64.b64encode(RAW).decode()):
        assert secret_value not in text
    assert "s3cr3t" not in text and "Cookie" in text
