"""A faithful local Exact Online for the tests and the demo: `ExactSandbox` and its parts, one module each."""

from connector.sandbox.exact.app import ExactSandbox, make_exact_sandbox
from connector.sandbox.exact.odata_filter import FilterParser, QueryError

__all__ = ["ExactSandbox", "FilterParser", "QueryError", "make_exact_sandbox"]
