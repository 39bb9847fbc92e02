"""Signing in to the dashboard over real HTTP on PostgreSQL: sessions, sign-out, expiry, cookies, throttling."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import uuid
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from connector import admin_users
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, audit
from connector.store.db import admin_sessions, sign_in_failures
from connector.sync.services import Services
from ml_connector import cli
from tests.conftest import make_settings
from webhook_receiver import create_app
from webhook_receiver.auth import SESSION_COOKIE

pytestmark = pytest.mark.integration

PASSWORD = "a long and quiet evening"
HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def svc(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Services whose cookies may go without Secure on loopback, trusting one proxy's X-Forwarded-For."""
    settings = make_settings(tmp_path_factory.mktemp("sign-in"), pg_url, secret_key)
    services = Services(dataclasses.replace(settings, cookie_secure=False, trusted_proxies=1))
    services.db.upgrade()
    yield services
    services.close()


@pytest.fixture
def url(svc: Services) -> Iterator[str]:
    with ServerThread(create_app(svc, enqueue=lambda _id: None)) as server:
        yield server.url


@pytest.fixture
def user(svc: Services) -> Iterator[str]:
    """A dashboard user of this test only; afterwards removed, and the failures it caused forgotten."""
    name = f"clerk-{uuid.uuid4().hex[:6]}"
    admin_users.add_user(svc.db, name, PASSWORD)
    yield name
    admin_auth.remove_user(svc.db, name)
    with svc.db.begin() as conn:
        conn.execute(sign_in_failures.delete())


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(browser: requests.Session, url: str, name: str, password: str, **headers: str) -> requests.Response:
    """Fill in the sign-in form like a person would."""
    form = browser.get(f"{url}/admin/sign-in", headers={**HTML, **headers}, timeout=10)
    data = {"csrf_token": _csrf(form.text), "name": name, "password": password, "next": "/admin/records"}
    return browser.post(f"{url}/admin/sign-in", data=data, headers={**HTML, **headers}, timeout=10)


def test_a_browser_is_sent_to_the_form_and_lands_where_it_was_going(url: str, user: str) -> None:
    with requests.Session() as browser:
        first = browser.get(f"{url}/admin/records?status=blocked", headers=HTML, timeout=10)
        assert first.url.endswith("/admin/sign-in?next=/admin/records?status%3Dblocked")
        assert 'type="password"' in first.text and "Needs a fix" not in first.text  # nothing shown before sign-in

        signed_in = sign_in(browser, url, user, PASSWORD)

    assert signed_in.status_code == 200 and signed_in.url.endswith("/admin/records")
    assert user in signed_in.text and "Sign out" in signed_in.text


def test_the_session_cookie_is_httponly_lax_scoped_and_stored_only_as_a_hash(
    url: str, user: str, svc: Services
) -> None:
    with requests.Session() as browser:
        response = sign_in(browser, url, user, PASSWORD)
        cookie = response.history[0].headers["Set-Cookie"]
        session_id = browser.cookies[SESSION_COOKIE]

    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    with svc.db.begin() as conn:
        stored = conn.execute(sa.select(admin_sessions.c.id_hash, admin_sessions.c.user_name)).all()
    assert (hashlib.sha256(session_id.encode()).hexdigest(), user) in stored
    assert session_id not in {row.id_hash for row in stored}


def test_cookies_are_secure_except_on_loopback_when_switched_off(
    url: str, user: str, svc: Services, pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with requests.Session() as browser:
        on_loopback = sign_in(browser, url, user, PASSWORD).history[0].headers["Set-Cookie"]
    with requests.Session() as browser:  # the same server, reached by a real name: Secure whatever the setting
        form = browser.get(f"{url}/admin/sign-in", headers={"Host": "dashboard.example.com"}, timeout=10)
        by_name = form.headers["Set-Cookie"]
    default = Services(make_settings(tmp_path_factory.mktemp("secure"), pg_url, secret_key))
    with ServerThread(create_app(default, enqueue=lambda _id: None)) as server, requests.Session() as browser:
        form = browser.get(f"{server.url}/admin/sign-in", headers=HTML, timeout=10)
    default.close()

    assert "Secure" not in on_loopback
    assert "Secure" in by_name
    assert "Secure" in form.headers["Set-Cookie"]  # the default holds even on loopback


def test_sign_out_ends_the_session_on_the_server(url: str, user: str, svc: Services) -> None:
    with requests.Session() as browser:
        page = sign_in(browser, url, user, PASSWORD)
        stolen = browser.cookies[SESSION_COOKIE]
        out = browser.post(f"{url}/admin/sign-out", data={"csrf_token": _csrf(page.text)}, headers=HTML, timeout=10)
        assert out.url.endswith("/admin/sign-in") and "You are signed out" in out.text

    replayed = requests.get(f"{url}/admin", cookies={SESSION_COOKIE: stolen}, timeout=10, allow_redirects=False)
    assert replayed.status_code == 401
    events = [row["event"] for row in audit.entries(svc.db) if (row["detail"] or {}).get("user") == user]
    assert events[-2:] == ["signed_in", "signed_out"]


def test_an_idle_session_expires(url: str, user: str, svc: Services) -> None:
    with requests.Session() as browser:
        sign_in(browser, url, user, PASSWORD)
        assert browser.get(f"{url}/admin", headers=HTML, timeout=10).url.endswith("/admin")
        idle_for = svc.settings.session_idle_seconds + 1
        with svc.db.begin() as conn:  # as if the browser had been left alone that long
            conn.execute(admin_sessions.update().values(last_seen=admin_sessions.c.last_seen - idle_for))

        again = browser.get(f"{url}/admin", headers=HTML, timeout=10)

    assert "/admin/sign-in" in again.url


def test_a_wrong_password_is_refused_and_names_nothing(url: str, user: str) -> None:
    with requests.Session() as browser:
        wrong = sign_in(browser, url, user, "not the password at all")
        unknown = sign_in(browser, url, f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert SESSION_COOKIE not in wrong.cookies


def test_a_burst_of_wrong_passwords_locks_the_user_even_for_the_right_one(url: str, user: str) -> None:
    limit = admin_users.Throttle().per_user
    with requests.Session() as browser:
        answers = [sign_in(browser, url, user, f"guess {n}").status_code for n in range(limit + 3)]
        right = sign_in(browser, url, user, PASSWORD)
    over_basic = requests.get(f"{url}/admin", auth=(user, PASSWORD), timeout=10)

    assert answers == [401] * limit + [429] * 3
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    assert over_basic.status_code == 429  # scripts go through the same throttle


def test_basic_auth_guesses_lock_the_form_too(url: str, user: str) -> None:
    limit = admin_users.Throttle().per_user
    answers = [requests.get(f"{url}/admin", auth=(user, f"guess {n}"), timeout=10).status_code for n in range(limit)]
    with requests.Session() as browser:
        right = sign_in(browser, url, user, PASSWORD)

    assert answers == [401] * limit
    assert right.status_code == 429


def test_one_address_guessing_many_names_is_locked_but_others_are_not(url: str, user: str) -> None:
    limit = admin_users.Throttle().per_address
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    with requests.Session() as browser:
        for n in range(limit):
            sign_in(browser, url, f"name-{n}", "guess", **guesser)
        from_guesser = sign_in(browser, url, user, PASSWORD, **guesser)
    with requests.Session() as browser:
        from_elsewhere = sign_in(browser, url, user, PASSWORD, **{"X-Forwarded-For": "198.51.100.20"})

    assert from_guesser.status_code == 429
    assert from_elsewhere.status_code == 200 and user in from_elsewhere.text


def test_the_sign_in_form_needs_its_token_and_never_sends_anyone_away(url: str, user: str) -> None:
    with requests.Session() as browser:
        forged = browser.post(f"{url}/admin/sign-in", data={"name": user, "password": PASSWORD}, timeout=10)
        form = browser.get(f"{url}/admin/sign-in", headers=HTML, timeout=10)
        data = {"csrf_token": _csrf(form.text), "name": user, "password": PASSWORD, "next": "//evil.example/admin"}
        signed_in = browser.post(f"{url}/admin/sign-in", data=data, timeout=10, allow_redirects=False)

    assert forged.status_code == 400
    assert signed_in.headers["Location"] == "/admin"


def test_both_admin_and_admin_slash_open_the_overview(url: str, user: str) -> None:
    with requests.Session() as browser:
        sign_in(browser, url, user, PASSWORD)
        plain = browser.get(f"{url}/admin", timeout=10)
        slash = browser.get(f"{url}/admin/", timeout=10)

    assert plain.status_code == slash.status_code == 200
    assert "Companies" in plain.text and "Companies" in slash.text


def test_add_user_from_stdin_makes_a_second_user_who_can_sign_in(
    url: str, user: str, svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = f"auditor-{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr("sys.stdin", io.StringIO("another long passphrase\n"))
    try:
        assert cli.main(["admin", "add-user", second, "--password-stdin"], services=svc) == 0
        with requests.Session() as first_browser, requests.Session() as second_browser:
            first = sign_in(first_browser, url, user, PASSWORD)
            other = sign_in(second_browser, url, second, "another long passphrase")
        stored = admin_auth.password_hash(svc.db, second) or ""
    finally:
        admin_auth.remove_user(svc.db, second)

    assert first.status_code == other.status_code == 200
    assert second in other.text and user in first.text
    assert stored.startswith("$argon2id$") and "another long passphrase" not in stored


def test_add_user_prompts_twice_and_refuses_a_short_or_mistyped_password(
    svc: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"typist-{uuid.uuid4().hex[:6]}"
    answers = iter(["a long enough passphrase", "a long enough passphrasf", "short", "short"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))

    mistyped = cli.main(["admin", "add-user", name], services=svc)
    too_short = cli.main(["admin", "add-user", name], services=svc)

    assert (mistyped, too_short) == (1, 1)
    assert "differ" in capsys.readouterr().err
    assert admin_auth.password_hash(svc.db, name) is None


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(url: str, user: str, svc: Services) -> None:
    with requests.Session() as browser:
        sign_in(browser, url, user, PASSWORD)
        assert browser.get(f"{url}/admin", headers=HTML, timeout=10).url.endswith("/admin")

        admin_users.add_user(svc.db, user, "a brand new passphrase")
        after = browser.get(f"{url}/admin", headers=HTML, timeout=10)

    assert "/admin/sign-in" in after.url
