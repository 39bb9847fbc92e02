"""One of several processes calling Exact as fast as the shared budget allows (see test_governor_processes).

    python -m tests.integration.budget_hammer TENANT_ID START BASE SPEED END GUARD

Settings come from the environment like any worker's. The clock is simulated: `BASE + (now - START) * SPEED`,
shared with the sandbox, so a minute passes in a few real seconds. Prints how many calls went out and how many
reservations were refused.
"""

from __future__ import annotations

import json
import sys
import time

from connector.errors import RateLimited
from connector.exact.client import ExactClient
from connector.exact.governor import Priority
from connector.exact.regions import exact_base_url
from connector.sync.services import Services


def main(tenant_id: int, start: float, base: float, speed: float, end: float, guard: float) -> None:
    def clock() -> float:
        return base + (time.time() - start) * speed

    svc = Services()
    tenant = svc.tenant(tenant_id)
    governor = svc.governor(tenant, clock=clock)
    governor.guard = guard
    url = exact_base_url(tenant.exact_region, tenant.exact_base_url)
    sent = refused = 0
    with ExactClient(
        url, svc.token_manager(tenant), tenant.exact_division, budget=governor.budget(Priority.WRITE)
    ) as client:
        while clock() < end:
            try:
                client.journals()
                sent += 1
            except RateLimited as exc:
                refused += 1
                time.sleep(min(max((exc.retry_at - clock()) / speed, 0.005), 0.5))
    svc.close()
    print(json.dumps({"sent": sent, "refused": refused}))


if __name__ == "__main__":
    tenant, *numbers = sys.argv[1:]
    main(int(tenant), *(float(n) for n in numbers))  # type: ignore[call-arg]
