"""Basware API hosts per region; every tenant may override the base URL (sandbox, test environments)."""

from __future__ import annotations

from connector.errors import ConfigurationError

# EU production is confirmed by Basware's own MuleSoft connector (tokenUrl https://api.basware.com/v1/tokens).
# US, AU and CA are UNCONFIRMED guesses that follow the EU pattern: Basware names the regions (P2P manual,
# MuleSoft docs) but no public source shows their hosts (docs/api-facts.md#basware-regions-and-hosts).
# Test environments (e.g. https://test-api.basware.com) are reached through the per-tenant override.
BASWARE_BASE_URLS: dict[str, str] = {
    "EU": "https://api.basware.com",
    "US": "https://api.us.basware.com",  # UNCONFIRMED
    "AU": "https://api.au.basware.com",  # UNCONFIRMED
    "CA": "https://api.ca.basware.com",  # UNCONFIRMED
}


def basware_base_url(region: str, override: str | None = None) -> str:
    """The API base URL for a region, or `override` when one is set (trailing slash removed)."""
    if override:
        return override.rstrip("/")
    try:
        return BASWARE_BASE_URLS[region.strip().upper()]
    except KeyError:
        valid = ", ".join(sorted(BASWARE_BASE_URLS))
        raise ConfigurationError(f"unknown Basware region {region!r}; valid regions: {valid}") from None
