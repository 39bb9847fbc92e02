"""Exact's HashCode is checked over the Content bytes exactly as sent, never over a re-serialised copy."""

from __future__ import annotations

import pytest

from connector.errors import SignatureError
from connector.exact.webhooks import raw_content, sign, verify

SECRET = "app-secret"
# Spacing and key order as a server might send them; braces and quotes inside strings must not confuse the cut.
CONTENT = (
    b'{ "Topic": "GLAccounts", "ClientId": "c", "Division": 7, "Action": "Update",'
    b' "Key": "ABC-1", "Note": "a \\"quoted\\" } brace", "EventCreatedOn": "2026-11-29T10:00:00"}'
)


def _body(content: bytes, hash_code: str) -> bytes:
    return b'{"Content": ' + content + b', "HashCode": "' + hash_code.encode() + b'"}'


def test_the_content_is_cut_out_byte_for_byte() -> None:
    assert raw_content(_body(CONTENT, "x")) == CONTENT


def test_an_upper_case_hashcode_over_the_raw_content_verifies() -> None:
    event = verify(SECRET, _body(CONTENT, sign(SECRET, CONTENT)))

    assert (event.topic, event.action, event.division, event.key) == ("GLAccounts", "Update", 7, "abc-1")


@pytest.mark.parametrize(
    "hash_code",
    [sign("other", CONTENT), sign(SECRET, CONTENT).lower(), sign(SECRET, CONTENT.replace(b", ", b","))],
    ids=["wrong secret", "lower-case hex", "re-serialised content"],
)
def test_anything_else_is_refused(hash_code: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, _body(CONTENT, hash_code))
