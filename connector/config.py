"""Process settings: embedded defaults, then the CONNECTOR_* / CELERY_* environment; checked at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    secret_key: str | None = field(repr=False)
    signature_header: str = "X-BW-Signature"
    max_body_bytes: int = DEFAULT_MAX_BODY
    admin_user: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    # Exact token timing: refresh when fewer than `margin` seconds remain, never sooner than `min age` after
    # issue (Exact refuses that). Both are tunable only so that tests can run on seconds-long tokens.
    exact_refresh_margin: float = 30.0
    exact_min_refresh_age: float = 570.0
    # The longest a Basware client-credentials token is reused (its own expires_in may shorten it).
    basware_token_lifetime: float = 3600.0
    # Re-consent reminders by e-mail; no host means e-mail is off (the webhook channel is per tenant).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "ml-connector@localhost"
    # A pending record silent this long (no step running, no retry due) lost its chain and is started again.
    stall_after: float = 120.0
    # The dashboard's session cookie is Secure; switching that off is honoured only for requests to a loopback
    # address (a demo or a test on http://127.0.0.1, where a browser would otherwise drop the cookie).
    cookie_secure: bool = True
    session_idle_seconds: float = 1800.0
    trusted_proxies: int = 0  # how many reverse proxies' X-Forwarded-For to believe for the sign-in throttle
    log_format: str = "text"  # text | json
    worker_metrics_port: int = 0  # 0 = the worker serves no metrics
    worker_metrics_address: str = "127.0.0.1"  # 0.0.0.0 inside a container network; never publish it
    # Exact's calls per app and division: a minute and a day (premium licences allow more a day). The
    # governor also follows lower limits that Exact's headers report; per-app overrides are `id -> (min, day)`.
    exact_minute_limit: int = 60
    exact_day_limit: int = 5000
    exact_app_limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def exact_limits(self, client_id: str) -> tuple[int, int]:
        """(calls a minute, calls a day) for one Exact app."""
        return self.exact_app_limits.get(client_id, (self.exact_minute_limit, self.exact_day_limit))

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
        exact_refresh_margin=_number(env, "CONNECTOR_EXACT_REFRESH_MARGIN", 30.0),
        exact_min_refresh_age=_number(env, "CONNECTOR_EXACT_MIN_REFRESH_AGE", 570.0),
        basware_token_lifetime=_number(env, "CONNECTOR_BASWARE_TOKEN_LIFETIME", 3600.0),
        smtp_host=env.get("CONNECTOR_SMTP_HOST") or None,
        smtp_port=int(_number(env, "CONNECTOR_SMTP_PORT", 25)),
        smtp_user=env.get("CONNECTOR_SMTP_USER") or None,
        smtp_password=env.get("CONNECTOR_SMTP_PASSWORD") or None,
        smtp_from=env.get("CONNECTOR_SMTP_FROM") or "ml-connector@localhost",
        stall_after=_number(env, "CONNECTOR_STALL_AFTER", 120.0),
        cookie_secure=env.get("CONNECTOR_COOKIE_SECURE", "true").strip().lower() not in ("0", "false", "no", "off"),
        session_idle_seconds=_number(env, "CONNECTOR_SESSION_IDLE_SECONDS", 1800.0),
        trusted_proxies=int(_number(env, "CONNECTOR_TRUSTED_PROXIES", 0)),
        log_format=_log_format(env.get("CONNECTOR_LOG_FORMAT")),
        worker_metrics_port=int(_number(env, "CONNECTOR_WORKER_METRICS_PORT", 0)),
        worker_metrics_address=env.get("CONNECTOR_WORKER_METRICS_ADDRESS") or "127.0.0.1",
        exact_minute_limit=_count(env, "CONNECTOR_EXACT_MINUTE_LIMIT", 60),
        exact_day_limit=_count(env, "CONNECTOR_EXACT_DAY_LIMIT", 5000),
        exact_app_limits=_app_limits(env.get("CONNECTOR_EXACT_APP_LIMITS", "")),
    )


def _log_format(raw: str | None) -> str:
    value = (raw or "text").strip().lower()
    if value not in ("text", "json"):
        raise ConfigurationError(f"CONNECTOR_LOG_FORMAT must be text or json, not {raw!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number from the environment, or the default; anything else is a start-up error."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default)
    if value < 1 or value != int(value):
        raise ConfigurationError(f"{name} must be a whole number of calls, at least 1")
    return int(value)


def _app_limits(raw: str) -> dict[str, tuple[int, int]]:
    """`client-id=60/30000,other-id=60/5000` -> {client id: (a minute, a day)}."""
    limits = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        client_id, _, figures = item.rpartition("=")
        minute, _, day = figures.partition("/")
        if not client_id or not minute or not day:
            raise ConfigurationError(f"CONNECTOR_EXACT_APP_LIMITS: {item!r} is not client-id=minute/day")
        name = f"CONNECTOR_EXACT_APP_LIMITS for {client_id}"
        limits[client_id] = (_count({name: minute}, name, 60), _count({name: day}, name, 5000))
    return limits


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data folder (and the file-system broker's folders) when the embedded defaults are used."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.broker_url.startswith("filesystem"):
        for name in ("in", "processed", "control"):
            (settings.broker_folder / name).mkdir(parents=True, exist_ok=True)
    return settings.data_dir
