"""docker-compose.yml is the production shape: parse it, then run its very commands on local PostgreSQL and Redis.

No Docker engine runs here, so the services' commands (migrate, gunicorn, worker, beat, flower) and their
health checks run as local processes, with the compose environment pointed at this machine's services.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from connector.sandbox.basware import make_invoice
from connector.store import records
from connector.wiring import build_services
from tests.conftest import _admin, make_settings
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, signed_headers

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LONG_RUNNING = ("receiver", "worker", "beat", "flower")
FLOWER_AUTH = "ops:compose-test-password"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:?message} and ${VAR:-default}, then $$ -> $."""

    def value(match: re.Match[str]) -> str:
        name, rule = match.group(1), match.group(2) or ""
        if name in env:
            return env[name]
        if rule.startswith(":-"):
            return rule[2:]
        raise AssertionError(f"compose needs {name}: {rule[2:]}")

    return re.sub(r"\$\{(\w+)(:[?-][^}]*)?\}", value, text).replace("$$", "$")


def test_compose_declares_every_service_with_a_health_check() -> None:
    services = _compose()["services"]

    assert set(services) == {"postgres", "redis", "migrate", "prometheus", *LONG_RUNNING}
    for name in ("postgres", "redis", "prometheus", *LONG_RUNNING):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    assert services["receiver"]["command"].startswith("gunicorn ")
    assert services["worker"]["command"].startswith("celery -A workers worker")
    assert services["beat"]["command"].startswith("celery -A workers beat")
    assert services["flower"]["command"].startswith("celery -A workers flower")
    for name in ("migrate", *LONG_RUNNING):
        env = services[name]["environment"]
        assert {"CONNECTOR_DATABASE_URL", "CELERY_BROKER_URL", "CONNECTOR_SECRET_KEY"} <= set(env), name
        assert env["CONNECTOR_DATABASE_URL"].startswith("postgresql")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    for name in ("receiver", "worker", "beat", "flower"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_prometheus_scrapes_both_metrics_endpoints_and_loads_the_alerts() -> None:
    services = _compose()["services"]
    config = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    rules = yaml.safe_load((ROOT / "ops/prometheus/alerts.yml").read_text())

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["receiver"]["static_configs"][0]["targets"] == ["receiver:8000"]
    assert jobs["receiver"]["basic_auth"]["password_file"] == "/etc/prometheus/metrics-password"  # /metrics signs in
    assert "./ops/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    port = services["worker"]["environment"]["CONNECTOR_WORKER_METRICS_PORT"]
    assert jobs["worker"]["static_configs"][0]["targets"] == [f"worker:{port}"]
    assert not [p for p in services["worker"].get("ports", []) if port in str(p)]  # never published
    for name in ("receiver", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert alerts == {"ExactGrantDying", "RecordsBlocked", "BacklogAge"}


@pytest.fixture(scope="module")
def compose_database() -> Iterator[str]:
    name = f"mlc_compose_{uuid.uuid4().hex[:8]}"
    _admin(f"CREATE DATABASE {name}")
    yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def compose_env(compose_database: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The compose environment with the hosts `postgres` and `redis` replaced by this machine's services."""
    env = dict(os.environ)
    env.update(
        CONNECTOR_SECRET_KEY=secret_key,
        FLOWER_BASIC_AUTH=FLOWER_AUTH,
        CONNECTOR_DATABASE_URL=compose_database,
        # A queue of its own: only the processes started here consume from it.
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
        CELERY_TASK_DEFAULT_QUEUE=f"compose-test-{uuid.uuid4().hex[:8]}",
        CONNECTOR_DATA_DIR=str(tmp_path_factory.mktemp("compose-data")),
        HOSTNAME=socket.gethostname(),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _command(service: dict[str, Any], env: dict[str, str], ports: dict[str, str]) -> list[str]:
    return shlex.split(_replace_ports(_interpolate(service["command"], env), ports))


def _healthy(service: dict[str, Any], env: dict[str, str], ports: dict[str, str]) -> bool:
    test = service["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        argv = ["sh", "-c", _interpolate(test[1], env)]
    else:
        argv = [_interpolate(part, env) for part in test[1:]]
    argv = [_replace_ports(part, ports) for part in argv]
    return subprocess.run(argv, env=env, capture_output=True, timeout=60).returncode == 0


def _replace_ports(text: str, ports: dict[str, str]) -> str:
    for old, new in ports.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def running(compose_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """migrate to completion, then receiver, worker, beat and flower as the compose file runs them."""
    services = _compose()["services"]
    receiver_port, flower_port = _free_port(), _free_port()
    # The only change to the compose commands: free ports, so that a busy 8000 or 5555 cannot fail the run.
    ports = {
        "0.0.0.0:8000": f"127.0.0.1:{receiver_port}",
        "127.0.0.1:8000": f"127.0.0.1:{receiver_port}",
        "--port=5555": f"--port={flower_port}",
        "127.0.0.1:5555": f"127.0.0.1:{flower_port}",
    }
    migrate = subprocess.run(
        _command(services["migrate"], compose_env, ports), env=compose_env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    logs = tmp_path_factory.mktemp("compose-logs")
    processes = {}
    for name in LONG_RUNNING:
        with (logs / f"{name}.log").open("wb") as log:
            processes[name] = subprocess.Popen(
                _command(services[name], compose_env, ports),
                env=compose_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=compose_env["CONNECTOR_DATA_DIR"],
            )
    try:
        yield {
            "services": services,
            "ports": ports,
            "processes": processes,
            "logs": logs,
            "receiver_url": f"http://127.0.0.1:{receiver_port}",
            "flower_url": f"http://127.0.0.1:{flower_port}/",
        }
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_service_command_runs_and_passes_its_own_health_check(
    running: dict[str, Any], compose_env: dict[str, str], name: str
) -> None:
    deadline = time.monotonic() + 60
    while not _healthy(running["services"][name], compose_env, running["ports"]):
        process = running["processes"][name]
        assert process.poll() is None, (running["logs"] / f"{name}.log").read_text()[-3000:]
        assert time.monotonic() < deadline, f"{name} never became healthy"
        time.sleep(1)


def test_flower_requires_the_configured_login(running: dict[str, Any]) -> None:
    url = running["flower_url"]
    wait_for(lambda: _answers(url), timeout=60, what="flower")

    anonymous = requests.get(url, timeout=10)
    user, password = FLOWER_AUTH.split(":")
    logged_in = requests.get(url, auth=(user, password), timeout=10)

    assert anonymous.status_code == 401
    assert logged_in.status_code == 200


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
        return True
    except requests.ConnectionError:
        return False


def test_an_invoice_flows_through_the_compose_processes(
    running: dict[str, Any],
    compose_env: dict[str, str],
    compose_database: str,
    secret_key: str,
    sandboxes: Sandboxes,
    tmp_path: Path,
) -> None:
    svc = build_services(make_settings(tmp_path, compose_database, secret_key))
    try:
        tenant = add_tenant(svc, sandboxes)
        number = f"INV-{uuid.uuid4().hex[:8]}"
        invoice_id = sandboxes.basware.add_invoice(
            make_invoice(
                number,
                "1003",
                "Initech Logistics",
                [
                    {
                        "account_code": "4050",
                        "cost_center_code": "CC100",
                        "tax_code": "VAT21",
                        "tax_percent": 21,
                        "net": Decimal("640.10"),
                        "tax": Decimal("134.42"),
                    }
                ],
            )
        )
        receiver = running["receiver_url"]
        body = notification(invoice_id)

        response = requests.post(
            f"{receiver}/webhooks/basware/{tenant.name}", data=body, headers=signed_headers(body), timeout=30
        )

        assert response.status_code == 202
        record_id = response.json()["record_id"]
        wait_for(lambda: settled(svc, record_id), timeout=90, what="the compose worker to write the invoice")
        record = records.get(svc.db, record_id)
        assert record.status == "written"
        [entry] = [e for e in sandboxes.exact.purchase_entries(100001) if e["YourRef"] == number]
        assert str(entry["EntryNumber"]) == record.exact_number
    finally:
        svc.close()
