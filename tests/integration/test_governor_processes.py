"""Four OS processes hammer the Exact sandbox through real clients sharing one budget: 0 calls beyond a window.

On each store the budget can live in: PostgreSQL, Redis, and SQLite (the embedded default).

The sandbox and the processes share a fast clock (a minute lasts ten real seconds), and the run crosses two of
Exact's fixed minute boundaries. What counts is what the sandbox saw, minute by minute.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.sync.services import Services
from tests.integration.conftest import worker_environment
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
LIMIT = 20
PROCESSES = 4
SPEED = 6.0  # simulated seconds per real second
GUARD = 3.0  # simulated: a call on its way may take half a real second on a busy machine
ROOT = Path(__file__).resolve().parents[2]


class Answers:
    """Every division call the sandbox answered: (the minute that counted it, HTTP status); changes nothing.

    The minute is the one the sandbox's own X-RateLimit-Minutely-Reset names, so a call that arrived on a
    boundary is put where the sandbox counted it.
    """

    def __init__(self, sandbox: ExactSandbox) -> None:
        self.seen: list[tuple[int, int]] = []
        self._inner, self._lock = sandbox.app.wsgi_app, threading.Lock()
        sandbox.app.wsgi_app = self  # type: ignore[method-assign]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        answer: list[tuple[int, int]] = []

        def noting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            reset = dict(headers).get("X-RateLimit-Minutely-Reset", "0")
            answer.append((int(reset) // 60_000 - 1, int(status[:3])))
            return start_response(status, headers, exc_info)

        result = self._inner(environ, noting)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/current/"):
            with self._lock:
                self.seen.extend(answer)
        return result


@pytest.mark.parametrize("backend", ["postgres", "redis", "sqlite"])
def test_four_processes_never_call_beyond_the_fixed_minute(
    backend: str,
    request: pytest.FixtureRequest,
    sandboxes: Sandboxes,
    redis_url: str,
    secret_key: str,
    tmp_path: Path,
) -> None:
    # The budget lives in Redis when Redis is the broker, else in the database (SQLite: the embedded default).
    svc: Services = request.getfixturevalue("sqlite_services" if backend == "sqlite" else "pg_services")
    database_url = svc.settings.database_url
    broker = redis_url if backend == "redis" else "memory://"
    start = time.time()
    base = math.floor(start / 60) * 60 + 30.0  # simulated time starts half a minute before a boundary

    def clock() -> float:
        return base + (time.time() - start) * SPEED

    sandbox = ExactSandbox(minute_limit=LIMIT, clock=clock, access_token_lifetime=86400)
    sandbox.add_division()
    answers = Answers(sandbox)
    with ServerThread(sandbox.app) as server:
        tenant = add_tenant(svc, Sandboxes(sandbox, sandboxes.basware, server.url, sandboxes.basware_url))
        env = worker_environment(database_url, broker, secret_key, tmp_path)
        end = base + 100.0  # crosses the boundaries at +30 and +90
        command = [sys.executable, "-m", "tests.integration.budget_hammer", str(tenant.id)]
        command += [repr(start), repr(base), repr(SPEED), repr(end), repr(GUARD)]
        processes = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(PROCESSES)
        ]
        outputs = [process.communicate(timeout=120) for process in processes]

    assert [p.returncode for p in processes] == [0] * PROCESSES, [err.decode()[-2000:] for _, err in outputs]
    sent = sum(json.loads(out)["sent"] for out, _ in outputs)
    per_minute = Counter(minute for minute, status in answers.seen if status != 429)
    assert [status for _, status in answers.seen if status == 429] == []
    assert max(per_minute.values()) <= LIMIT
    assert len(per_minute) >= 2  # the run crossed a minute boundary while calls were going out
    assert sent == sum(per_minute.values())
