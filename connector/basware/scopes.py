"""Basware's OAuth scopes, derived from the calls the client declares.

Every Basware API has its own scopes: `<api>.read` for GET, `<api>.write` for POST/PUT/PATCH and `<api>.delete`
for DELETE, and a token without the scope a call needs is answered 403 (docs/api-facts.md#basware-tokens-and-scopes).
A token carries only the scopes it was asked for, so the client must ask for the scopes of every API it calls.
Rather than keep that list by hand (ours once lacked `exportedPurchaseOrders` and purchase orders never left
Basware), each call the client makes is an `Endpoint` declared here, and the scope request is derived from them.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

_ACCESS = {"GET": "read", "HEAD": "read", "DELETE": "delete"}
_DECLARED: list[Endpoint] = []


class Endpoint(NamedTuple):
    """One Basware API call: its method and path template (placeholders in braces)."""

    method: str
    template: str

    @property
    def scope(self) -> str:
        """The scope this call needs."""
        return scope_of(self.method, self.template)

    def path(self, **values: str) -> str:
        """The concrete path, each placeholder filled with a URL-quoted value."""
        return self.template.format(**{key: quote(value, safe="") for key, value in values.items()})


def scope_of(method: str, path: str) -> str:
    """The scope a `/v1/<api>/...` call needs, e.g. `exportedPurchaseOrders.read` for a GET of an order."""
    api = path.removeprefix("/v1/").split("/", 1)[0].split("?", 1)[0]
    return f"{api}.{_ACCESS.get(method.upper(), 'write')}"


def endpoint(method: str, template: str) -> Endpoint:
    """Declare a call the client makes; its scope becomes part of every token request."""
    declared = Endpoint(method.upper(), template)
    _DECLARED.append(declared)
    return declared


def required_scopes() -> list[str]:
    """Every scope the declared calls need, sorted and without repeats."""
    return sorted({call.scope for call in _DECLARED})


def requested_scope() -> str:
    """The `scope` field of a token request: the declared calls' scopes, space-separated."""
    return " ".join(required_scopes())
