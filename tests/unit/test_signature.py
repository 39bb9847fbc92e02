"""The webhook signature check: good encodings pass, anything else fails with a reason and no secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.basware.signature import DEFAULT_SIGNATURE_HEADER, sign, verify
from connector.errors import SignatureError

SECRET = "webhook-secret-☃"
BODY = b'{"taskId":"t-1","taskType":"AccountingDocuments","documentId":"inv-1"}'


def digest(secret: str, body: bytes) -> bytes:
    """The raw HMAC-SHA256, computed independently of the module under test."""
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


RAW = digest(SECRET, BODY)

GOOD = {
    "lower hex": RAW.hex(),
    "upper hex": RAW.hex().upper(),
    "prefixed hex": "sha256=" + RAW.hex(),
    "prefix in capitals": "SHA256=" + RAW.hex(),
    "surrounding spaces": f"  {RAW.hex()} ",
    "base64": base64.b64encode(RAW).decode(),
    "base64 without padding": base64.b64encode(RAW).decode().rstrip("="),
    "urlsafe base64": base64.urlsafe_b64encode(RAW).decode(),
    "prefixed base64": "sha256=" + base64.b64encode(RAW).decode(),
}

BAD = {
    "missing": (None, "missing signature"),
    "empty": ("", "missing signature"),
    "blank": ("   ", "missing signature"),
    "not hex nor base64": ("not a signature!", "malformed signature"),
    "truncated hex": (RAW.hex()[:-2], "malformed signature"),
    "base64 of a short digest": (base64.b64encode(RAW[:16]).decode(), "malformed signature"),
    "other secret": (digest("other", BODY).hex(), "signature does not match"),
    "other body": (digest(SECRET, BODY + b" ").hex(), "signature does not match"),
    "sha1 length": (hashlib.sha1(BODY).hexdigest(), "malformed signature"),
}


def test_sign_is_lowercase_hex_hmac_sha256() -> None:
    assert sign(SECRET, BODY) == RAW.hex()
    assert DEFAULT_SIGNATURE_HEADER == "X-BW-Signature"


@pytest.mark.parametrize("header", GOOD.values(), ids=GOOD.keys())
def test_good_signatures_verify(header: str) -> None:
    verify(SECRET, BODY, header)


@pytest.mark.parametrize(("header", "reason"), BAD.values(), ids=BAD.keys())
def test_bad_signatures_fail_with_a_reason_and_no_secret(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, BODY, header)
    message = str(caught.value)
    assert message == reason
    assert SECRET not in message and RAW.hex() not in message


@given(secret=st.text(min_size=1), body=st.binary())
def test_round_trip_for_any_body(secret: str, body: bytes) -> None:
    verify(secret, body, sign(secret, body))


@given(body=st.binary(min_size=1), data=st.data())
def test_any_single_byte_change_fails(body: bytes, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != body[position]))
    tampered = body[:position] + bytes([replacement]) + body[position + 1 :]
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, tampered, sign(SECRET, body))
