"""The one way tests start a real Celery worker process, and stop any process they started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def worker_environment(
    pg_url: str, redis_url: str, secret_key: str, data_dir: Path, queue: str = "connector"
) -> dict[str, str]:
    """The environment a worker process reads its settings from."""
    env = dict(os.environ)
    env.update(
        CONNECTOR_DATABASE_URL=pg_url,
        CELERY_BROKER_URL=redis_url,
        CONNECTOR_SECRET_KEY=secret_key,
        CONNECTOR_DATA_DIR=str(data_dir),
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    return env


def worker_command(queue: str, concurrency: int = 3) -> list[str]:
    """`celery -A workers worker` on one queue only, named after it so a ping reaches this worker alone."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
    ]


@contextmanager
def running_worker(app: Any, queue: str, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process on `queue`, answering pings before this yields; its output goes to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(worker_command(queue), env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(app, process, log_path, f"{queue}@{socket.gethostname()}")
        yield process
    finally:
        stop(process)


def wait_until_ready(app: Any, process: subprocess.Popen[bytes], log_path: Path, node: str) -> None:
    """Ping the worker node until it answers; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-3000:]}")
        if app.control.ping(destination=[node], timeout=0.5):  # ours only: other sessions share Redis
            return
    raise RuntimeError(f"worker did not answer a ping:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a process we started, killing it if it does not stop within 30 seconds."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
