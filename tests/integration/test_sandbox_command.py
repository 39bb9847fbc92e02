"""`ml-connector sandbox` serves both sandboxes alone, for a prospective customer's first try."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from connector.sandbox.standalone import BASWARE_CLIENT
from tests.support import free_port

pytestmark = pytest.mark.integration


def test_the_sandbox_command_serves_exact_oauth_and_basware_tokens() -> None:
    exact_port, basware_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "ml_connector.cli",
        "sandbox",
        "--exact-port",
        str(exact_port),
        "--basware-port",
        str(basware_port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                token = requests.post(
                    f"http://127.0.0.1:{basware_port}/v1/tokens",
                    auth=BASWARE_CLIENT,
                    data={"grant_type": "client_credentials", "scope": "accountingDocuments.read"},
                    timeout=5,
                )
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.2)
        consent = requests.get(
            f"http://127.0.0.1:{exact_port}/api/oauth2/auth",
            allow_redirects=False,
            timeout=5,
            params={
                "client_id": "sandbox-exact-client",
                "response_type": "code",
                "state": "s",
                "redirect_uri": "http://127.0.0.1:8765/exact/callback",
            },
        )
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()

    assert token.status_code == 200 and token.json()["expires_in"] == 3600
    assert consent.status_code == 302 and "code=" in consent.headers["Location"]
    assert f"http://127.0.0.1:{exact_port}" in output and "division 100001" in output
