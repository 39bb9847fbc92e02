"""Basware push-notification signatures: HMAC-SHA256 over the raw request body.

Basware documents only that `webhookAuthenticationToken` is the secret used to *sign* notifications; the
header name, what is signed and the encoding are unpublished (reference/basware.md §4). So this module is
pure, the header name is a setting, and `verify` accepts the encodings a sender plausibly uses: hex in either
case, with or without a `sha256=` prefix, and standard or URL-safe base64 of the digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from connector.errors import SignatureError

DEFAULT_SIGNATURE_HEADER = "X-BW-Signature"

_DIGEST_SIZE = hashlib.sha256().digest_size
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of `body` keyed with `secret`."""
    return _digest(secret, body).hex()


def verify(secret: str, body: bytes, header_value: str | None) -> None:
    """Raise `SignatureError` unless `header_value` is a valid signature of `body` under `secret`."""
    if header_value is None or not header_value.strip():
        raise SignatureError("missing signature")
    received = _decode(header_value)
    if received is None:
        raise SignatureError("malformed signature")
    # compare_digest keeps the comparison time independent of where the first difference is.
    if not hmac.compare_digest(received, _digest(secret, body)):
        raise SignatureError("signature does not match")


def _digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def _decode(header_value: str) -> bytes | None:
    """The raw digest a header carries, or None when it is neither hex nor base64 of 32 bytes."""
    value = header_value.strip()
    if value[: len(_PREFIX)].lower() == _PREFIX:
        value = value[len(_PREFIX) :]
    if _HEX.fullmatch(value):
        return bytes.fromhex(value)
    return _decode_base64(value)


def _decode_base64(value: str) -> bytes | None:
    padded = value + "=" * (-len(value) % 4)
    altchars = b"-_" if ("-" in value or "_" in value) else None
    try:
        raw = base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _DIGEST_SIZE else None
