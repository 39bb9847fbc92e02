"""Slow clients cannot stall intake: idle connections and clients that send their request a byte at a time
do not keep the receiver (run exactly as docker-compose runs it) from answering health checks and webhooks."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from connector.sync.services import Services
from tests.integration.conftest import free_port, wait_for, worker_environment
from tests.support import Sandboxes, add_tenant, notification, signed_headers

pytestmark = pytest.mark.integration
COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
IDLE, DRIBBLING = 24, 90


def _receiver_command(port: int) -> list[str]:
    """The compose file's receiver command, bound to a loopback port of this test's own."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["receiver"]["command"]
    parts = [p.strip("'\"") for p in (command.split() if isinstance(command, str) else command)]
    parts[parts.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", *parts]


@pytest.fixture
def receiver(pg_url: str, redis_url: str, secret_key: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = worker_environment(pg_url, redis_url, secret_key, tmp_path)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(_receiver_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), what="the receiver")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_idle_and_dribbling_clients_do_not_stop_health_checks_or_webhooks(
    receiver: str, pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    port = int(receiver.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    try:
        for number in range(IDLE + DRIBBLING):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if number >= IDLE:  # a request line and half a header, then nothing (slowloris)
                sock.sendall(b"POST /webhooks/basware/x HTTP/1.1\r\nHost: x\r\nContent-Len")
            held.append(sock)

        ready = requests.get(f"{receiver}/readyz", timeout=10)
        body = notification("doc-slow-clients")
        accepted = requests.post(
            f"{receiver}/webhooks/basware/{tenant.name}", data=body, headers=signed_headers(body), timeout=10
        )
    finally:
        for sock in held:
            sock.close()

    assert ready.status_code == 200
    assert accepted.status_code == 202
