"""CONNECTOR_LOG_FORMAT=json on the real processes: the worker (Celery's own lines too), beat and the receiver
under gunicorn write nothing but JSON objects, and a step's lines carry its tenant, record and step."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from connector.sync.services import Services
from tests.integration.conftest import wait_for
from tests.support import Sandboxes, add_tenant, free_port, notification, post_signed, stop, worker_environment
from tests.support.workers import worker_command

pytestmark = pytest.mark.integration


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def _objects(path: Path) -> list[dict[str, Any]]:
    """Every line of the log as JSON (fails naming the first line that is not)."""
    objects = []
    for line in _lines(path):
        try:
            objects.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line in {path.name}: {line!r}") from None
    return objects


@pytest.fixture
def json_env(pg_url: str, redis_url: str, secret_key: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The processes' environment with JSON logs, on a queue of this test's own."""
    queue = f"json-logs-{uuid.uuid4().hex[:8]}"
    env = worker_environment(pg_url, redis_url, secret_key, tmp_path, queue)
    env["CONNECTOR_LOG_FORMAT"] = "json"
    yield env
    client = redis.Redis.from_url(redis_url)
    client.delete(queue)
    client.close()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_the_worker_and_beat_write_json_lines_naming_the_step(
    json_env: dict[str, str], celery_app: Any, pg_services: Services, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    queue = json_env["CELERY_TASK_DEFAULT_QUEUE"]
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    celery = [sys.executable, "-m", "celery", "-A", "workers"]
    worker = _start(worker_command(queue, concurrency=1), json_env, worker_log)
    beat_args = ["beat", "-l", "INFO", "-s", str(tmp_path / "schedule")]
    beat = _start([*celery, *beat_args], json_env, beat_log)
    tenant = add_tenant(pg_services, sandboxes)
    try:
        wait_for(lambda: "ready" in worker_log.read_text(), what="the JSON worker to be ready")
        with pg_services.db.begin() as conn:
            from connector.store import records

            record_id = records.upsert_pending(conn, tenant.id, "invoice", f"missing-{uuid.uuid4().hex[:8]}")
        celery_app.send_task("connector.fetch_from_basware", args=[record_id], queue=queue)
        wait_for(lambda: f'"record": "{record_id}"' in worker_log.read_text(), what="a line about the record")
        wait_for(lambda: "Starting" in beat_log.read_text(), what="beat to start")
    finally:
        stop(worker)
        stop(beat)

    lines = _objects(worker_log)
    assert any(line["logger"].startswith("celery") and "ready" in line["message"] for line in lines)  # Celery's own
    step = [line for line in lines if line.get("record") == str(record_id)]
    assert step and all(line.get("tenant") == str(tenant.id) for line in step)
    assert any(line.get("step") == "fetch" for line in step)
    beat_lines = _objects(beat_log)
    assert any(line["logger"] == "celery.beat" and "Starting" in line["message"] for line in beat_lines)


def test_the_receiver_under_gunicorn_writes_json_lines(
    json_env: dict[str, str], pg_services: Services, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "--config", "python:webhook_receiver.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-", "webhook_receiver:create_app()",
    ]  # fmt: skip
    server = _start(command, json_env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), what="gunicorn")
        body = notification("doc-1")
        bad = post_signed(url, tenant.name, body, secret="wrong")
        assert bad.status_code == 401
        wait_for(lambda: "rejected" in log.read_text(), what="the rejection in the log")
    finally:
        stop(server)

    lines = _objects(log)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    assert any(line["logger"] == "gunicorn.access" for line in lines)
    [rejected] = [line for line in lines if "rejected" in line["message"]]
    assert (rejected["tenant"], rejected["step"], rejected["level"]) == (tenant.name, "receive", "WARNING")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_development_receiver_writes_json_lines_too(
    json_env: dict[str, str], pg_services: Services, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    port = free_port()
    log = tmp_path / "receiver.log"
    command = [sys.executable, "-m", "ml_connector.cli", "receiver", "--host", "127.0.0.1", "--port", str(port)]
    server = _start(command, json_env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), what="the development receiver")
        body = notification("doc-2")
        assert post_signed(url, tenant.name, body, secret="wrong").status_code == 401
        wait_for(lambda: "rejected" in log.read_text(), what="the rejection in the log")
    finally:
        stop(server)

    lines = _objects(log)  # every line is one JSON object, Werkzeug's request lines included
    [rejected] = [line for line in lines if "rejected" in line["message"]]
    assert (rejected["tenant"], rejected["step"], rejected["level"]) == (tenant.name, "receive", "WARNING")
    assert any(line["logger"] == "werkzeug" and "POST /webhooks/basware" in line["message"] for line in lines)
