"""Dashboard users: passwords kept as argon2id hashes, sign-ins throttled per user and per address.

argon2-cffi because Argon2id is the password hash OWASP recommends first (memory-hard, so a leaked table is
expensive to guess against on GPUs), the library is small, maintained by the Python Cryptographic Authority's
hynek, and its hashes carry their own parameters, so they can be strengthened later with `needs_rehash`.

The throttle counts failures in the database over a sliding window: past `per_user` failures for one name,
or `per_address` from one address, every attempt is refused without looking at the password, the right one
included, until the window has passed. Attempts refused that way are not counted again, so a flood does not
grow the table; it only keeps the lock in place.
"""

from __future__ import annotations

import enum
import functools
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connector.errors import ConfigurationError
from connector.store import admin_auth
from connector.store.db import Database

MIN_PASSWORD = 12  # long passphrases beat short clever ones; the throttle does the rest
MAX_NAME = 80


class SignIn(enum.Enum):
    """What a sign-in attempt came to."""

    OK = "ok"
    WRONG = "wrong"  # unknown user or wrong password: the same answer, so names cannot be probed
    LOCKED = "locked"  # too many failures lately, for this name or from this address


@dataclass(frozen=True)
class Throttle:
    """How many failures within `window` seconds lock a name or an address."""

    window: float = 900.0
    per_user: int = 5
    per_address: int = 30  # higher: an office behind one NAT address has several people mistyping


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current RFC 9106 "low memory" defaults


@functools.cache
def _dummy_hash() -> str:
    # Verifying an unknown name against a real hash costs as long as a known one: timing reveals no names.
    return _hasher().hash("no such user, no such password")


def check_name(name: str) -> str:
    """A valid user name, or ConfigurationError (no spaces or colons: HTTP Basic splits on the colon)."""
    if not name or len(name) > MAX_NAME or any(c.isspace() or c == ":" for c in name) or not name.isprintable():
        raise ConfigurationError(f"a user name is 1 to {MAX_NAME} characters without spaces or colons")
    return name


def add_user(db: Database, name: str, password: str) -> bool:
    """Add a user or set a new password; True when the user is new."""
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise ConfigurationError(f"a password needs at least {MIN_PASSWORD} characters")
    return admin_auth.put_user(db, name, _hasher().hash(password))


def is_password(stored: str | None, password: str) -> bool:
    """The password matches the stored hash (always spends one verification, even without a hash)."""
    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def bootstrap(db: Database, name: str | None, password: str | None) -> None:
    """Make the user from CONNECTOR_ADMIN_USER/_PASSWORD exist with that password (the first user of a setup)."""
    if not (name and password):
        return
    if not is_password(admin_auth.password_hash(db, name), password):
        admin_auth.put_user(db, check_name(name), _hasher().hash(password))


def is_locked(db: Database, name: str, address: str, throttle: Throttle, now: float) -> bool:
    """Too many failures lately for this name or from this address."""
    since = now - throttle.window
    return (
        admin_auth.failures_since(db, _user_key(name), since) >= throttle.per_user
        or admin_auth.failures_since(db, _address_key(address), since) >= throttle.per_address
    )


def sign_in(db: Database, name: str, password: str, address: str, throttle: Throttle | None = None) -> SignIn:
    """Check a name and password from an address, throttled; a success clears the name's failures."""
    throttle = throttle or Throttle()
    now = time.time()
    if is_locked(db, name, address, throttle, now):
        return SignIn.LOCKED
    if not is_password(admin_auth.password_hash(db, name), password):
        admin_auth.note_failure(db, [_user_key(name), _address_key(address)], now)
        admin_auth.forget_old_failures(db, now - throttle.window)
        return SignIn.WRONG
    admin_auth.clear_failures(db, _user_key(name))
    return SignIn.OK


def _user_key(name: str) -> str:
    return f"user:{name.casefold()[:MAX_NAME]}"


def _address_key(address: str) -> str:
    return f"address:{address[:100]}"
