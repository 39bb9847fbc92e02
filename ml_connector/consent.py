"""Take the Exact consent callback on the tenant's redirect URI: a one-shot local HTTP listener."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse

from connector.errors import ConfigurationError, FatalAPIError

PAGE = b"<html><body><h1>ml-connector</h1><p>Consent received. You can close this window.</p></body></html>"


def wait_for_callback(redirect_uri: str, *, timeout: float = 600.0) -> str:
    """Serve the redirect URI's host and port until Exact redirects the browser there; returns the full URL."""
    parsed = urlparse(redirect_uri)
    if parsed.hostname is None:
        raise ConfigurationError(f"redirect URI {redirect_uri!r} has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    received: list[str] = []
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if urlparse(self.path).path != (parsed.path or "/"):
                self.send_error(404)
                return
            received.append(f"{parsed.scheme}://{parsed.netloc}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)
            done.set()

        def log_message(self, *_args: object) -> None:  # the query string holds the code: keep it out of logs
            return

    server = HTTPServer(
        ("0.0.0.0" if parsed.hostname not in ("localhost", "127.0.0.1") else "127.0.0.1", port), Handler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if not done.wait(timeout):
            raise FatalAPIError(f"no consent callback within {timeout:.0f} s", system="exact")
        return received[0]
    finally:
        server.shutdown()
        server.server_close()
