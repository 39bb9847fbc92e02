"""Where credentials may travel: https anywhere, plain http only to this machine."""

from __future__ import annotations

import pytest

from connector.basware.client import BaswareClient
from connector.errors import ConfigurationError
from connector.exact.auth import ExactOAuth
from connector.transport import is_secure


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://start.exactonline.nl", True),
        ("https://api.basware.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.9.9.9", True),
        ("http://localhost:5000", True),
        ("http://[::1]:5000", True),
        ("http://start.exactonline.nl", False),
        ("http://sandbox:8000", False),
        ("http://10.0.0.5", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_is_secure(url: str, secure: bool) -> None:
    assert is_secure(url) is secure


def test_clients_refuse_a_clear_text_base_url_before_sending_anything() -> None:
    with pytest.raises(ConfigurationError, match="not https"):
        ExactOAuth("http://start.exactonline.nl", "id", "secret-x", "https://cb.example/cb")
    with pytest.raises(ConfigurationError, match="not https"):
        BaswareClient("http://api.basware.com", "id", "secret-x")
