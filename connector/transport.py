"""Where credentials may travel: https, or plain http to this machine's loopback (the local sandboxes).

Both APIs are reached over TLS. The sandboxes run on http://127.0.0.1, so plain http is allowed to loopback
hosts and nowhere else. No client follows a redirect that would carry a secret, a token or a request body to
another host (a 307 replays the POST, client secret and refresh token included): Exact calls follow none,
Basware calls only to https targets that need no credentials (pre-signed object-store URLs).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.errors import ConfigurationError, FatalAPIError

_LOOPBACK_NAMES = {"localhost"}


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1 or localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure(url: str) -> bool:
    """True for https, and for http to a loopback host."""
    scheme = urlsplit(url).scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback(url))


def require_secure(url: str) -> None:
    """Refuse a base URL that would send credentials in clear text over a network."""
    if not is_secure(url):
        raise ConfigurationError(
            f"{urlsplit(url).scheme}://{urlsplit(url).hostname} is not https; refusing to send credentials there"
        )


def allow_oauthlib_transport(url: str) -> None:
    """Check `url` with our rule, then let oauthlib accept it too.

    oauthlib refuses every http:// URL unless OAUTHLIB_INSECURE_TRANSPORT is set, with no exception for
    loopback. Every OAuth URL we use passes `require_secure` first, so setting the flag for a loopback sandbox
    lets nothing through that our own rule refuses.
    """
    require_secure(url)
    if urlsplit(url).scheme.lower() == "http":
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def redirect_refused(response: requests.Response, system: str) -> FatalAPIError:
    """The error for a redirect we will not follow: it names the target host, never a credential."""
    target = urlsplit(response.headers.get("Location", "")).hostname or "an unnamed place"
    return FatalAPIError(
        f"{response.request.method} {urlsplit(response.url).path} answered a redirect to {target}; not followed, "
        f"so no credential leaves for another host (check the base URL)",
        system=system,
        status=response.status_code,
    )


def send(session: requests.Session, method: str, url: str, *, deadline: float, **kwargs: Any) -> requests.Response:
    """One HTTP exchange that ends within `deadline` seconds, or raises `requests.Timeout`.

    `requests` timeouts bound each socket read, so a server that keeps sending a byte now and then can hold a
    worker for ever. Waiting for the headers is bounded by the read timeout (never above the deadline); the
    body is read under a timer that shuts the socket when the deadline passes.
    """
    started = time.monotonic()
    connect = min(10.0, deadline)
    response = session.request(method, url, timeout=(connect, deadline), stream=True, **kwargs)
    remaining = deadline - (time.monotonic() - started)
    timer = threading.Timer(max(remaining, 0.0), _shut, args=(response,))
    timer.daemon = True
    timer.start()
    try:
        _ = response.content  # read it all now, under the timer
    except (requests.RequestException, OSError) as exc:
        response.close()
        if time.monotonic() - started >= deadline:
            raise requests.Timeout(f"no complete answer within {deadline:.0f} s") from None
        raise requests.ConnectionError(str(exc)) from None
    finally:
        timer.cancel()
    if time.monotonic() - started > deadline:
        raise requests.Timeout(f"no complete answer within {deadline:.0f} s")
    return response


def _shut(response: requests.Response) -> None:
    """Unblock a read stuck on a slow server by shutting its socket (from the timer thread)."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
