"""Regions resolve to base URLs; a tenant override wins; an unknown region says what is valid."""

from __future__ import annotations

import pytest

from connector.basware.auth import ClientCredentialsAuth
from connector.basware.regions import BASWARE_BASE_URLS, basware_base_url
from connector.errors import ConfigurationError


@pytest.mark.parametrize(("region", "url"), sorted(BASWARE_BASE_URLS.items()))
def test_known_regions(region: str, url: str) -> None:
    assert basware_base_url(region) == url
    assert basware_base_url(region.lower()) == url


def test_eu_is_the_documented_host() -> None:
    assert basware_base_url("EU") == "https://api.basware.com"


def test_override_wins_and_loses_its_trailing_slash() -> None:
    assert basware_base_url("EU", "http://127.0.0.1:5000/") == "http://127.0.0.1:5000"


def test_unknown_region_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        basware_base_url("MARS")
    assert "MARS" in str(caught.value) and "AU, CA, EU, US" in str(caught.value)


def test_auth_never_shows_its_secret() -> None:
    auth = ClientCredentialsAuth("https://api.basware.com", "client-1", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(auth) and auth.token_url == "https://api.basware.com/v1/tokens"
