"""Health checks the containers run: an HTTP endpoint answers, beat's schedule file is fresh."""

from __future__ import annotations

import time
from pathlib import Path

import requests


def http_ok(url: str, timeout: float = 5.0) -> bool:
    """True when the URL answers 2xx."""
    try:
        with requests.get(url, timeout=timeout) as response:
            return response.ok
    except requests.RequestException:
        return False


def beat_is_alive(data_dir: Path, max_age: float, now: float | None = None) -> bool:
    """True when beat has written its schedule file within `max_age` seconds (it syncs every few minutes)."""
    now = time.time() if now is None else now
    files = list(data_dir.glob("celerybeat-schedule*"))
    return bool(files) and now - max(f.stat().st_mtime for f in files) <= max_age
