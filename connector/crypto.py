"""Secrets at rest: Fernet with a rotatable key list from CONNECTOR_SECRET_KEY.

`cryptography`'s MultiFernet does authenticated encryption and key rotation correctly; hand-written AES
would not be better. The first key encrypts; every key decrypts, so a new key can be put in front and
`ml-connector keys rotate` re-encrypts what is stored.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connector.config import KEY_FILE, Settings
from connector.errors import ConfigurationError


class SecretBox:
    """Encrypts and decrypts the secrets kept in the database."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("CONNECTOR_SECRET_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "CONNECTOR_SECRET_KEY must be one or more comma-separated Fernet keys "
                "(make one with `ml-connector keys generate`)"
            ) from exc

    def encrypt(self, plain: str) -> str:
        """Encrypt with the first key."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt with any known key; a key that cannot is a configuration error, not a crash later."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "CONNECTOR_SECRET_KEY cannot decrypt the stored secrets: the key is wrong or was replaced "
                "without keeping the old one"
            ) from exc

    @staticmethod
    def is_token(value: str) -> bool:
        """True for a value this box wrote (a Fernet token), False for one stored in clear before."""
        return value.startswith("gAAAAA")

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored value with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("a stored secret cannot be decrypted with any configured key") from exc


def generate_key() -> str:
    """A new random key, in the form CONNECTOR_SECRET_KEY takes."""
    return Fernet.generate_key().decode()


def load_secret_box(settings: Settings) -> SecretBox:
    """The key from the environment; on the embedded default only, a key file made on first use."""
    if settings.secret_key:
        return SecretBox(settings.secret_key.split(","))
    if not settings.is_embedded:
        raise ConfigurationError(
            "CONNECTOR_SECRET_KEY is not set: it is required with an external database "
            "(make one with `ml-connector keys generate`)"
        )
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together must agree on one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key())
    return SecretBox([path.read_text().strip()])
