"""The accounting dashboard over real HTTP on PostgreSQL: locked by default, readable, and replay that works."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator

import pytest
import requests

from connector import views
from connector.errors import RecordBlocked
from connector.sandbox.server import ServerThread
from connector.store import audit, mappings, records, tenants
from connector.store.tenants import Tenant
from connector.sync import outcomes
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.support import BASWARE_SECRET, EXACT_SECRET, WEBHOOK_SECRET, Sandboxes, add_tenant, consent
from webhook_receiver import create_app

pytestmark = pytest.mark.integration

ADMIN = ("books", "correct horse battery staple")
PROBLEM = {
    "row": 2,
    "field": "gl_account",
    "basware_code": "4001",
    "mapped_code": "4001",
    "problem": "GL account 4001 does not exist in Exact",
    "suggestions": ["4000", "4010"],
}


class Enqueued(list[int]):
    """Record ids handed to the broker; `fail` makes the broker look down."""

    fail = False

    def __call__(self, record_id: int) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.append(record_id)


@pytest.fixture(scope="module")
def admin_services(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Services on the session database, with the dashboard's admin user configured.

    Cookies without Secure (allowed on loopback only): `requests`, like a browser, keeps Secure cookies off http.
    """
    settings = make_settings(tmp_path_factory.mktemp("dashboard"), pg_url, secret_key)
    settings = dataclasses.replace(settings, admin_user=ADMIN[0], admin_password=ADMIN[1], cookie_secure=False)
    svc = build_services(settings)
    yield svc
    svc.close()


@pytest.fixture
def enqueued() -> Enqueued:
    return Enqueued()


@pytest.fixture
def url(admin_services: Services, enqueued: Enqueued) -> Iterator[str]:
    with ServerThread(create_app(admin_services, enqueue=enqueued)) as server:
        yield server.url


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    """A signed-in browser: Basic credentials and the session cookie carried across requests."""
    with requests.Session() as session:
        session.auth = ADMIN
        yield session


@pytest.fixture
def tenant(pg_services: Services, sandboxes: Sandboxes) -> Tenant:
    return add_tenant(pg_services, sandboxes, authorize=False)


def _blocked_record(svc: Services, tenant: Tenant, supplier: str = "Paper & Co") -> int:
    """A blocked invoice with one GL account problem, as the validation step leaves it."""
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", f"doc-{uuid.uuid4().hex[:8]}")
    records.update(
        svc.db, record_id, reference="INV-2024-017", supplier=supplier, gross="121.00", currency="EUR", step="map"
    )
    outcomes.block(svc, record_id, "validate", RecordBlocked("1 problem: GL account 4001 unknown", [PROBLEM]))
    return record_id


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _get(browser: requests.Session, url: str) -> requests.Response:
    response = browser.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response


def test_without_an_admin_user_the_dashboard_does_not_exist(pg_services: Services) -> None:
    with ServerThread(create_app(pg_services, enqueue=Enqueued())) as server:
        refused = requests.get(f"{server.url}/admin", auth=ADMIN, timeout=10)
        health = requests.get(f"{server.url}/healthz", timeout=10)

    assert refused.status_code == 404
    assert health.status_code == 200


@pytest.mark.parametrize("auth", [None, (ADMIN[0], "wrong"), ("someone", ADMIN[1]), ("", "")], ids=str)
def test_wrong_or_missing_credentials_get_401_and_nothing_else(url: str, auth: tuple[str, str] | None) -> None:
    response = requests.get(f"{url}/admin", auth=auth, timeout=10)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "Companies" not in response.text


def test_the_webhook_and_health_endpoints_stay_open(url: str, tenant: Tenant) -> None:
    assert requests.get(f"{url}/readyz", timeout=10).status_code == 200
    # No credentials: the receiver answers for itself (a bad signature), not the dashboard's 401 challenge.
    response = requests.post(f"{url}/webhooks/basware/{tenant.name}", data=b"{}", timeout=10)
    assert response.status_code == 401 and "WWW-Authenticate" not in response.headers


def test_the_overview_lists_tenants_with_grant_health_and_counts(
    url: str, browser: requests.Session, pg_services: Services, sandboxes: Sandboxes
) -> None:
    connected = add_tenant(pg_services, sandboxes, authorize=True)
    never = add_tenant(pg_services, sandboxes, authorize=False)
    _blocked_record(pg_services, never)

    page = _get(browser, f"{url}/admin").text

    assert connected.name in page and never.name in page
    row = page[page.index(connected.name) : page.index("</tr>", page.index(connected.name))]
    assert "<td>connected</td>" in row and ">29<" in row.replace(" ", "").replace("\n", "")  # renewed just now
    never_row = page[page.index(never.name) : page.index("</tr>", page.index(never.name))]
    assert "not connected yet" in never_row and "needs a fix: 1" in never_row


@pytest.fixture
def dead_tenant(pg_services: Services, sandboxes: Sandboxes) -> Iterator[Tenant]:
    """A tenant whose grant Exact killed; afterwards it is stood down, since the reminder sweep covers every tenant."""
    tenant = add_tenant(pg_services, sandboxes, authorize=True)
    pg_services.token_store(tenant).mark_dead("the refresh token was revoked in Exact")
    yield tenant
    tenants.update_tenant(pg_services.db, tenant.id, grant_status="none", grant_reason=None)


def test_a_dead_grant_is_shown_with_its_reason(url: str, browser: requests.Session, dead_tenant: Tenant) -> None:
    tenant = dead_tenant

    page = _get(browser, f"{url}/admin").text

    assert "disconnected: the refresh token was revoked in Exact" in page
    assert f"ml-connector exact authorize {tenant.name}" in page


def test_no_page_ever_shows_a_secret(
    url: str, browser: requests.Session, pg_services: Services, sandboxes: Sandboxes, secret_key: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=True)
    consent(pg_services, tenant)  # a second consent: fresh tokens to look for
    stored = pg_services.token_store(tenant).load()
    assert stored is not None
    record_id = _blocked_record(pg_services, tenant)
    forbidden = {WEBHOOK_SECRET, EXACT_SECRET, BASWARE_SECRET, stored.access_token, stored.refresh_token}
    forbidden |= {secret_key, ADMIN[1]}
    pages = [
        "/admin",
        "/admin/records",
        f"/admin/records?tenant={tenant.name}",
        f"/admin/records/{record_id}",
        f"/admin/tenants/{tenant.name}/mappings",
    ]

    for path in pages:
        text = _get(browser, url + path).text
        assert not [secret for secret in forbidden if secret in text], path


def test_records_list_puts_blocked_first_and_filters(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant
) -> None:
    with pg_services.db.begin() as conn:
        written = records.upsert_pending(conn, tenant.id, "invoice", "doc-written")
    records.update(pg_services.db, written, status="written", exact_number="24000123", reference="INV-OK")
    blocked = _blocked_record(pg_services, tenant)

    page = _get(browser, f"{url}/admin/records?tenant={tenant.name}").text
    only_blocked = _get(browser, f"{url}/admin/records?tenant={tenant.name}&status=blocked").text

    assert page.index(f'/admin/records/{blocked}"') < page.index(f'/admin/records/{written}"')
    assert "24000123" in page and "121.00 EUR" in page
    assert "line 2 GL account 4001: GL account 4001 does not exist" in page  # the first problem, in words
    assert "INV-OK" not in only_blocked and "INV-2024-017" in only_blocked
    assert browser.get(f"{url}/admin/records?status=bogus", timeout=10).status_code == 400
    assert browser.get(f"{url}/admin/records?tenant=nobody-{uuid.uuid4().hex}", timeout=10).status_code == 404


def test_a_blocked_record_shows_each_problem_with_close_matches_and_its_trail(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant
) -> None:
    record_id = _blocked_record(pg_services, tenant)

    page = _get(browser, f"{url}/admin/records/{record_id}").text

    problems = page[page.index("What needs fixing") : page.index("History")]
    for text in ("line 2", "GL account", "4001", PROBLEM["problem"], "4000, 4010", "fix the mapping"):
        assert text in problems, text
    trail = page[page.index("History") :]
    assert "validate" in trail and "blocked" in trail and "UTC" in page
    assert ">Replay</button>" in page


def test_replay_without_the_form_token_is_refused(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    record_id = _blocked_record(pg_services, tenant)
    _get(browser, f"{url}/admin/records/{record_id}")  # the session has a token, the request does not send it

    missing = browser.post(f"{url}/admin/records/{record_id}/replay", timeout=10, allow_redirects=False)
    forged = browser.post(
        f"{url}/admin/records/{record_id}/replay", data={"csrf_token": "x"}, timeout=10, allow_redirects=False
    )

    assert (missing.status_code, forged.status_code) == (400, 400)
    assert records.get(pg_services.db, record_id).status == "blocked" and enqueued == []


def test_replay_makes_the_record_pending_and_enqueues_it_once(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    record_id = _blocked_record(pg_services, tenant)
    token = _csrf(_get(browser, f"{url}/admin/records/{record_id}").text)

    first = browser.post(f"{url}/admin/records/{record_id}/replay", data={"csrf_token": token}, timeout=10)
    second = browser.post(f"{url}/admin/records/{record_id}/replay", data={"csrf_token": token}, timeout=10)

    assert first.status_code == 200 and "was sent again" in first.text
    assert "Nothing to replay" in second.text and ">Replay</button>" not in second.text
    assert records.get(pg_services.db, record_id).status == "pending"
    assert enqueued == [record_id]
    events = [row["event"] for row in audit.entries(pg_services.db, record_id=record_id)]
    assert "replayed" in events and "replay_requested" in events


def test_replay_with_the_broker_down_leaves_the_record_replayable(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    record_id = _blocked_record(pg_services, tenant)
    token = _csrf(_get(browser, f"{url}/admin/records/{record_id}").text)
    enqueued.fail = True

    page = browser.post(f"{url}/admin/records/{record_id}/replay", data={"csrf_token": token}, timeout=10).text

    assert "could not be reached" in page and ">Replay</button>" in page
    assert records.get(pg_services.db, record_id).status == "failed"


def test_a_mapping_added_through_the_form_is_stored_and_leads_back_to_the_record(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant
) -> None:
    record_id = _blocked_record(pg_services, tenant)
    form_url = f"{url}/admin/tenants/{tenant.name}/mappings?kind=gl_account&source=4001&record={record_id}"
    form = _get(browser, form_url).text
    assert 'value="4001"' in form and '<option value="gl_account" selected>' in form

    data = {"csrf_token": _csrf(form), "kind": "gl_account", "source": "4001", "target": "4000", "record": record_id}
    response = browser.post(f"{url}/admin/tenants/{tenant.name}/mappings", data=data, timeout=10)

    assert response.url.endswith(f"/admin/records/{record_id}")
    assert "GL account 4001 now maps to 4000" in response.text
    assert mappings.entry(pg_services.db, tenant.id, "gl_account", "4001") == mappings.MappingEntry(
        "gl_account", "4001", "4000", "manual"
    )
    [row] = [r for r in audit.entries(pg_services.db, tenant_id=tenant.id) if r["event"] == "mapping_set"]
    assert ADMIN[0] in row["message"]
    table = _get(browser, f"{url}/admin/tenants/{tenant.name}/mappings").text
    assert "<td>4001</td>" in table and "<td>4000</td>" in table and "set by an operator" in table


@pytest.mark.parametrize(
    ("kind", "source", "target", "said"),
    [("gl_acount", "4001", "4000", "unknown kind"), ("gl_account", " ", "4000", "both"), ("vat_code", "V", "", "both")],
)
def test_a_bad_mapping_is_refused_and_nothing_is_stored(
    url: str,
    browser: requests.Session,
    pg_services: Services,
    tenant: Tenant,
    kind: str,
    source: str,
    target: str,
    said: str,
) -> None:
    token = _csrf(_get(browser, f"{url}/admin/tenants/{tenant.name}/mappings").text)
    before = mappings.entries(pg_services.db, tenant.id)

    data = {"csrf_token": token, "kind": kind, "source": source, "target": target}
    response = browser.post(f"{url}/admin/tenants/{tenant.name}/mappings", data=data, timeout=10)

    assert response.status_code == 400 and said in response.text
    assert mappings.entries(pg_services.db, tenant.id) == before


def test_a_mapping_form_without_the_token_is_refused(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant
) -> None:
    data = {"kind": "gl_account", "source": "4001", "target": "4000"}
    response = browser.post(f"{url}/admin/tenants/{tenant.name}/mappings", data=data, timeout=10)

    assert response.status_code == 400
    assert mappings.entry(pg_services.db, tenant.id, "gl_account", "4001") is None


def test_names_from_basware_are_escaped(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant
) -> None:
    record_id = _blocked_record(pg_services, tenant, supplier='<script>alert("x")</script> & Sons')

    for path in (f"/admin/records?tenant={tenant.name}", f"/admin/records/{record_id}"):
        page = _get(browser, url + path).text
        assert "<script>" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons" in page


def test_the_grant_countdown_counts_whole_days_from_the_last_renewal() -> None:
    assert views.days_left(None, 0.0) is None
    assert views.days_left(0.0, 0.0) == 30
    assert views.days_left(0.0, 29.5 * views.DAY) == 0
    assert views.days_left(0.0, 31 * views.DAY) == -1


def test_pages_are_not_cached_or_framed(url: str, browser: requests.Session) -> None:
    response = _get(browser, f"{url}/admin")

    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.text and "http" not in response.text.split("</head>")[0]


def test_a_later_version_corrected_in_exact_can_be_marked_so_and_is_sent_on(
    url: str, browser: requests.Session, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    plain = _blocked_record(pg_services, tenant)
    record_id = _blocked_record(pg_services, tenant)
    records.update(pg_services.db, record_id, exact_id=str(uuid.uuid4()), exact_number="26600042")  # in Exact

    offered = _get(browser, f"{url}/admin/records/{record_id}").text
    not_offered = _get(browser, f"{url}/admin/records/{plain}").text
    page = browser.post(
        f"{url}/admin/records/{record_id}/resolve",
        data={"csrf_token": _csrf(offered), "note": "credit note <b>118</b>"},
        timeout=10,
    ).text

    assert ">Corrected in Exact</button>" in offered and ">Corrected in Exact</button>" not in not_offered
    assert records.get(pg_services.db, record_id).status == "written"
    assert enqueued == [record_id] and "was sent again" in page
    [entry] = [a for a in audit.entries(pg_services.db, record_id=record_id) if a["event"] == "corrected_by_hand"]
    assert "credit note <b>118</b>" in entry["message"] and "on the dashboard" in entry["message"]
    assert "credit note &lt;b&gt;118&lt;/b&gt;" in page  # shown in the trail, escaped


def test_the_overview_shows_exacts_call_budget_per_division(
    url: str, browser: requests.Session, pg_services: Services, sandboxes: Sandboxes
) -> None:
    from tests.support import early_in_a_minute

    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    tenants.update_tenant(pg_services.db, tenant.id, exact_division=100001)
    tenant = pg_services.tenant(tenant.id)
    _blocked_record(pg_services, tenant)  # blocked, so not part of the backlog
    with pg_services.db.begin() as conn:
        records.upsert_pending(conn, tenant.id, "invoice", f"waiting-{uuid.uuid4().hex[:6]}")
    early_in_a_minute()
    for _ in range(5):
        pg_services.governor(tenant).reserve(100001)

    page = _get(browser, f"{url}/admin").text

    budget = page[page.index("Exact Online call budget") :]
    name_at = budget.index(tenant.name)
    row = budget[budget.rindex("<tr>", 0, name_at) : budget.index("</tr>", name_at)]
    assert "<td>100001</td>" in row and "<td>55 of 60</td>" in row and "<td>4995 of 5000</td>" in row
    assert "<td>1</td>" in row  # one record waits
