"""Who is told about each call to Exact and Basware: a tiny observer seam, so the clients stay free of any
metrics library (the workers plug Prometheus counters in; tests can plug in a list).

The clients wrap their one transport call in `timed_call`; observers get a `Call` afterwards with a
low-cardinality endpoint (ids, GUIDs and division numbers replaced), the status (None when no answer came)
and the time it took. An observer that fails never fails the call.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_VERSION = re.compile(r"v\d+")
_KEY = re.compile(r"\([^)]*\)$")  # OData key segments: PurchaseEntries(guid'…') -> PurchaseEntries(id)


@dataclass(frozen=True)
class Call:
    """One HTTP exchange with an outside system."""

    system: str
    method: str
    endpoint: str
    status: int | None
    seconds: float


@dataclass
class Timing:
    """Filled in by the client inside `timed_call`: the status the call got, if any."""

    status: int | None = None


Observer = Callable[[Call], None]
_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Be told of every call from now on (idempotent)."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop being told."""
    if observer in _observers:
        _observers.remove(observer)


@contextmanager
def timed_call(system: str, method: str, url: str) -> Iterator[Timing]:
    """Time the block; afterwards tell every observer what the call was and what status it got."""
    timing = Timing()
    started = time.monotonic()
    try:
        yield timing
    finally:
        _notify(Call(system, method, endpoint_of(url), timing.status, time.monotonic() - started))


def _notify(call: Call) -> None:
    for observer in list(_observers):
        try:
            observer(call)
        except Exception as exc:  # noqa: BLE001 - counting must never break the call it counts
            log.debug("a call observer failed: %s", type(exc).__name__)


def endpoint_of(url: str) -> str:
    """The URL's path with ids taken out, so one endpoint is one label: /api/v1/{id}/purchaseentry/…

    Any segment with a digit in it (a division, a document id, a GUID) is an id, except API versions (v1).
    """
    segments = []
    for segment in urlsplit(url).path.split("/"):
        segment = _KEY.sub("(id)", segment)
        if any(ch.isdigit() for ch in segment) and not _VERSION.fullmatch(segment):
            segment = "{id}"
        segments.append(segment)
    return "/".join(segments) or "/"
