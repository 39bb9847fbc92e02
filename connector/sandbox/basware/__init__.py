"""A local Basware P2P API for the tests and the demo: `BaswareSandbox`, its document builders, its parts."""

from connector.sandbox.basware.app import BaswareSandbox
from connector.sandbox.basware.auth import required_scope
from connector.sandbox.basware.builders import make_invoice, make_purchase_order, make_vendor
from connector.sandbox.basware.wire import SandboxError

__all__ = ["BaswareSandbox", "SandboxError", "make_invoice", "make_purchase_order", "make_vendor", "required_scope"]
