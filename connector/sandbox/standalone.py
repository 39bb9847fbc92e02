"""`ml-connector sandbox`: both sandboxes on fixed ports, with a demo client registered, until interrupted."""

from __future__ import annotations

import threading

from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread

EXACT_CLIENT = ("sandbox-exact-client", "sandbox-exact-secret")
BASWARE_CLIENT = ("sandbox-basware-client", "sandbox-basware-secret")


def serve(*, exact_port: int, basware_port: int, redirect_uri: str = "http://127.0.0.1:8765/exact/callback") -> None:
    """Serve until Ctrl-C; prints what a tenant needs to point at them."""
    exact, basware = ExactSandbox(), BaswareSandbox()
    exact.register_client(*EXACT_CLIENT, redirect_uri)
    division = exact.add_division()
    basware.register_client(*BASWARE_CLIENT)
    with (
        ServerThread(exact.app, port=exact_port) as exact_server,
        ServerThread(basware.app, port=basware_port) as bw,
    ):
        print(
            f"Exact Online sandbox: {exact_server.url} (division {division}, client {EXACT_CLIENT[0]} / "
            f"{EXACT_CLIENT[1]}, redirect {redirect_uri})"
        )
        print(f"Basware sandbox:      {bw.url} (client {BASWARE_CLIENT[0]} / {BASWARE_CLIENT[1]})")
        print("Admin endpoints under /_sandbox/ on both (faults, state, invoices, notify). Ctrl-C stops.", flush=True)
        threading.Event().wait()
