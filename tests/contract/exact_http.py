"""Raw HTTP calls to the Exact sandbox with the test grant's token, for behaviour the product client does not cover."""

from __future__ import annotations

from typing import Any

import requests

from connector import jsonutil
from tests.contract.exact_fixtures import DIVISION, Exact


def call(exact: Exact, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
    """One API call to `/api/v1/{DIVISION}/{path}`, the body written with exact Decimals."""
    headers = {"Authorization": f"Bearer {exact.tokens.access_token()}", "Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = jsonutil.dumps(body)
    url = f"{exact.url}/api/v1/{DIVISION}/{path}"
    return exact.session.request(method, url, headers=headers, data=data, params=params or None)


def payload(response: requests.Response) -> Any:
    """The `d` of a successful answer (results when it is a list), Decimals kept."""
    assert response.ok, response.text
    d = jsonutil.loads(response.content)["d"]
    return d.get("results", d) if isinstance(d, dict) and "results" in d and "__metadata" not in d else d


def error_text(response: requests.Response) -> str:
    """The message of an OData error envelope."""
    return str(jsonutil.loads(response.content)["error"]["message"]["value"])
