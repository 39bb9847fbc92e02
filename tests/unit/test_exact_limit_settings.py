"""Exact's call limits come from settings: defaults, process-wide overrides, and one line per app."""

from __future__ import annotations

import pytest

from connector.config import load_settings
from connector.errors import ConfigurationError


def test_the_limits_default_to_exacts_standard_licence() -> None:
    settings = load_settings({"CONNECTOR_DATA_DIR": "/tmp/x"})

    assert settings.exact_limits("any-app") == (60, 5000)


def test_one_app_can_have_limits_of_its_own() -> None:
    settings = load_settings(
        {
            "CONNECTOR_DATA_DIR": "/tmp/x",
            "CONNECTOR_EXACT_MINUTE_LIMIT": "30",
            "CONNECTOR_EXACT_APP_LIMITS": "premium-app=60/30000, test-app=20/500",
        }
    )

    assert settings.exact_limits("premium-app") == (60, 30000)
    assert settings.exact_limits("test-app") == (20, 500)
    assert settings.exact_limits("other-app") == (30, 5000)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONNECTOR_EXACT_MINUTE_LIMIT", "0"),
        ("CONNECTOR_EXACT_DAY_LIMIT", "1.5"),
        ("CONNECTOR_EXACT_APP_LIMITS", "app=60"),
        ("CONNECTOR_EXACT_APP_LIMITS", "=60/5000"),
        ("CONNECTOR_EXACT_APP_LIMITS", "app=sixty/5000"),
    ],
)
def test_a_limit_that_is_not_a_whole_number_of_calls_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({"CONNECTOR_DATA_DIR": "/tmp/x", name: value})
