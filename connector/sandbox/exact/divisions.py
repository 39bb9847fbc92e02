"""The Exact sandbox's `system/Divisions` and the division scope of a consent.

Sourced (docs/api-facts.md, Exact divisions): `system/Divisions` lists the divisions the user can reach; a published
app is limited to the companies ticked at consent, and a call to another one answers "User division is not within
division scope". Decisions (ours): the answer is a 403 with that text; a consent ticks every division unless the
test set a scope for the client's next consent (`set_consent_scope`); the scope narrows `system/Divisions` too.
"""

from __future__ import annotations

from flask import Response, g

import connector.sandbox.exact.query as query
from connector.sandbox.exact.oauth import Grant
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.wire import NOT_ALLOWED, ApiFailure, Call, EntitySet

DIVISIONS = "system/divisions"
DIVISION_SET = EntitySet(DIVISIONS, "Code", "System.Division", ("Code", "Description", "Current", "Customer"))
OUT_OF_SCOPE = "User division is not within division scope"


def check_scope(grant: Grant, division: int) -> None:
    """403 when the consent did not tick this division."""
    if grant.scope is not None and division not in grant.scope:
        raise ApiFailure(403, OUT_OF_SCOPE)


class Divisions:
    """GET `system/Divisions`: the divisions the calling grant can reach."""

    sets: tuple[EntitySet, ...] = (DIVISION_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer a GET; anything else is not allowed."""
        if call.method != "GET":
            raise ApiFailure(405, NOT_ALLOWED)
        scope = g.get("grant_scope")  # of the grant making this call (see `ExactSandbox._api`)
        rows = [
            {"Code": d.number, "Description": f"Company {d.number}", "Current": d.number == division.number,
             "Customer": None}
            for d in self.state.divisions.values()
            if d.accessible and (scope is None or d.number in scope)
        ]  # fmt: skip
        return query.read(division.number, DIVISION_SET, rows, None, page_size=self.state.page_size)
