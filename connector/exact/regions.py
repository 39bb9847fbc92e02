"""Exact Online's regional hosts: each serves both OAuth and the REST API, and tokens never cross regions."""

from __future__ import annotations

from urllib.parse import urlsplit

from connector.errors import ConfigurationError

EXACT_BASE_URLS: dict[str, str] = {
    "NL": "https://start.exactonline.nl",
    "BE": "https://start.exactonline.be",
    "UK": "https://start.exactonline.co.uk",
    "DE": "https://start.exactonline.de",
    "FR": "https://start.exactonline.fr",
    "ES": "https://start.exactonline.es",
    "US": "https://start.exactonline.com",
}


def exact_base_url(region: str, override: str | None = None) -> str:
    """The origin for a region (NL, BE, ...); `override` (e.g. a sandbox URL) replaces it when given."""
    key = (region or "").strip().upper()
    if key not in EXACT_BASE_URLS:
        valid = ", ".join(sorted(EXACT_BASE_URLS))
        raise ConfigurationError(f"unknown Exact region {region!r}; valid regions: {valid}")
    if not override:
        return EXACT_BASE_URLS[key]
    parts = urlsplit(override.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("Exact base URL override must be an absolute http(s) URL")
    # Only the origin matters: every Exact path is built below it.
    return f"{parts.scheme}://{parts.netloc}"
