"""Exact's regional hosts."""

from __future__ import annotations

import pytest

from connector.errors import ConfigurationError
from connector.exact.regions import EXACT_BASE_URLS, exact_base_url


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("NL", "https://start.exactonline.nl"),
        ("be", "https://start.exactonline.be"),
        ("UK", "https://start.exactonline.co.uk"),
        ("DE", "https://start.exactonline.de"),
        ("FR", "https://start.exactonline.fr"),
        ("ES", "https://start.exactonline.es"),
        (" US ", "https://start.exactonline.com"),
    ],
)
def test_every_region_has_its_host(region: str, expected: str) -> None:
    assert exact_base_url(region) == expected


def test_an_override_replaces_the_origin() -> None:
    assert exact_base_url("NL", "http://127.0.0.1:5001/") == "http://127.0.0.1:5001"
    assert exact_base_url("NL", "http://sandbox:8000/api/v1") == "http://sandbox:8000"


def test_an_unknown_region_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        exact_base_url("XX")
    for region in EXACT_BASE_URLS:
        assert region in str(caught.value)


def test_a_relative_override_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        exact_base_url("NL", "sandbox:8000")
