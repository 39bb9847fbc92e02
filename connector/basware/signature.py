"""Basware push-notification signatures: HMAC-SHA256 over the raw request body.

Basware documents only that `webhookAuthenticationToken` is the secret used to *sign* notifications; the
header name, what is signed and the encoding are unpublished (docs/api-facts.md#basware-push-notifications). So
this module is pure, the header name is a setting, and `verify` accepts the encodings a sender plausibly uses:
hex in either case, with or without a `sha256=` prefix, and standard or URL-safe base64 of the digest. When a
check fails, `diagnose` says what the request carried, in header names and value shapes only, so an operator
can find the header Basware really uses without a secret or signature ever reaching a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from connector.errors import SignatureError

DEFAULT_SIGNATURE_HEADER = "X-BW-Signature"

_DIGEST_SIZE = hashlib.sha256().digest_size
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_PREFIX = "sha256="
_ANY_HEX = re.compile(r"[0-9a-fA-F]+")

# What `verify` accepts, in the words the diagnosis logs.
ENCODINGS_TRIED = (
    "hex lower case",
    "hex upper case",
    "sha256=<hex>",
    "base64",
    "base64 without padding",
    "url-safe base64",
    "sha256=<base64>",
)


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


@dataclass(frozen=True)
class Diagnosis:
    """Why a signature failed, in header names and value shapes only: safe to log, never sent back."""

    reason: str
    expected_header: str
    expected_present: bool
    present: tuple[str, ...]
    value_form: str | None
    verifying_headers: tuple[str, ...]

    def describe(self) -> str:
        """One log line: what was expected, what came, what was tried, and a hint when another header fits."""
        where = "present" if self.expected_present else "absent"
        if self.value_form:
            where += f", its value is {self.value_form}"
        text = (
            f"signature check failed ({self.reason}); expected header {self.expected_header} ({where}); "
            f"headers present (names only): {', '.join(self.present) or 'none'}; "
            f"tried HMAC-SHA256 of the raw body as: {', '.join(ENCODINGS_TRIED)}"
        )
        if self.verifying_headers:
            text += (
                f"; header {', '.join(self.verifying_headers)} carries a valid signature: "
                f"set CONNECTOR_SIGNATURE_HEADER={self.verifying_headers[0]}"
            )
        return text


def diagnose(secret: str, body: bytes, headers: Mapping[str, str], header_name: str) -> Diagnosis:
    """Explain a failed check of `headers[header_name]`; also tries every other header, in case Basware uses it."""
    wanted = header_name.lower()
    value = next((v for name, v in headers.items() if name.lower() == wanted), None)
    others = [(name, v) for name, v in headers.items() if name.lower() != wanted]
    return Diagnosis(
        reason=_failure(secret, body, value),
        expected_header=header_name,
        expected_present=value is not None,
        present=tuple(sorted({name for name, _ in headers.items()}, key=str.lower)),
        value_form=None if value is None else _form(value),
        verifying_headers=tuple(name for name, v in others if _failure(secret, body, v) == "valid"),
    )


def _failure(secret: str, body: bytes, value: str | None) -> str:
    try:
        verify(secret, body, value)
    except SignatureError as exc:
        return str(exc)
    return "valid"


def _form(value: str) -> str:
    """The shape of a header value (length and alphabet), which tells a wrong scheme apart without showing it."""
    stripped = value.strip()
    prefix = ""
    if stripped[: len(_PREFIX)].lower() == _PREFIX:
        prefix, stripped = "sha256= then ", stripped[len(_PREFIX) :]
    if not stripped:
        return f"{prefix}empty"
    if _ANY_HEX.fullmatch(stripped):
        return f"{prefix}{len(stripped)} hex characters"
    altchars = b"-_" if ("-" in stripped or "_" in stripped) else None
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return f"{prefix}{len(stripped)} characters, neither hex nor base64"
    return f"{prefix}base64 of {len(raw)} bytes"
