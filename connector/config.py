"""Process settings: embedded defaults, then the CONNECTOR_* / CELERY_* environment; checked at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connector.errors import ConfigurationError

DEFAULT_MAX_BODY = 1024 * 1024  # a Basware notification is a few hundred bytes; refuse anything absurd
KEY_FILE = "secret.key"


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know that is not per tenant."""

    data_dir: Path
    database_url: str
    broker_url: str
    secret_key: str | None
    signature_header: str = "X-BW-Signature"
    max_body_bytes: int = DEFAULT_MAX_BODY
    admin_user: str | None = None
    admin_password: str | None = None

    @property
    def is_embedded(self) -> bool:
        """True when running on the embedded defaults (SQLite and the file-system broker)."""
        return self.database_url.startswith("sqlite")

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment, falling back to the embedded defaults under the data folder."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("CONNECTOR_DATA_DIR") or Path.cwd() / "data").resolve()
    database_url = env.get("CONNECTOR_DATABASE_URL") or f"sqlite:///{data_dir / 'connector.db'}"
    broker_url = env.get("CELERY_BROKER_URL") or "filesystem://"
    try:
        max_body = int(env.get("CONNECTOR_MAX_BODY_BYTES", DEFAULT_MAX_BODY))
    except ValueError as exc:
        raise ConfigurationError("CONNECTOR_MAX_BODY_BYTES must be a whole number of bytes") from exc
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        broker_url=broker_url,
        secret_key=env.get("CONNECTOR_SECRET_KEY") or None,
        signature_header=env.get("CONNECTOR_SIGNATURE_HEADER", "X-BW-Signature"),
        max_body_bytes=max_body,
        admin_user=env.get("CONNECTOR_ADMIN_USER") or None,
        admin_password=env.get("CONNECTOR_ADMIN_PASSWORD") or None,
    )


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data folder (and the file-system broker's folders) when the embedded defaults are used."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.broker_url.startswith("filesystem"):
        for name in ("in", "processed"):
            (settings.broker_folder / name).mkdir(parents=True, exist_ok=True)
    return settings.data_dir
