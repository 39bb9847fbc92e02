"""Who is using the dashboard: a sign-in form with server-side sessions, and HTTP Basic for scripts.

A session is a random id in a cookie (Secure, HttpOnly, SameSite=Lax, path /admin); the database keeps only
its SHA-256, the user and when it was last seen, so sign-out and idle expiry hold across gunicorn workers and
a copy of the table signs nobody in. Scripts may still send HTTP Basic on each request: it goes through the
same throttle as the form (per user and per address, in the database), so it is no way around it.
Browsers that are not signed in are sent to the form; anything else gets a 401 with a Basic challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

from connector import admin_users
from connector.admin_users import SignIn
from connector.store import admin_auth, audit
from webhook_receiver.context import connector_services

bp = Blueprint("auth", __name__, url_prefix="/admin", template_folder="templates")
log = logging.getLogger(__name__)

SESSION_COOKIE = "mlc_session"
COOKIE_PATH = "/admin"  # the dashboard's cookies go nowhere else
LIFETIME = 12 * 3600.0  # even an active session ends after a working day
CHALLENGE = 'Basic realm="ml-connector dashboard", charset="UTF-8"'
SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # invoices and suppliers must not linger in shared caches
    "X-Frame-Options": "DENY",  # no clickjacking of the Replay button
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def add_security_headers(response: Response) -> Response:
    """No caching, no framing, no scripts: on every dashboard page, the sign-in form included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie (form tokens, messages), Secure by the same rule as the sign-in cookie."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return is_cookie_secure()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # The cookie's path is /admin, so no other request carries it: webhooks skip the signer (Flask's null
        # session instead), which was a tenth of a notification's cost.
        if not request.path.startswith(COOKIE_PATH):
            return None
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Cookie settings and the Flask session the dashboard uses; call once from create_app."""
    app.session_interface = DashboardSessionInterface()
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_PATH"] = COOKIE_PATH


def is_loopback_request() -> bool:
    """The request was addressed to this machine's loopback (a demo or a test), judged by its Host."""
    host = urlsplit(f"//{request.host}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_cookie_secure() -> bool:
    """Cookies are Secure unless the operator switched that off and the request is to a loopback address."""
    return connector_services().settings.cookie_secure or not is_loopback_request()


def is_enabled() -> bool:
    """The dashboard exists once it has a user (made by `admin add-user` or from CONNECTOR_ADMIN_USER)."""
    svc = connector_services()
    if not current_app.extensions.get("connector.admin_bootstrapped"):
        admin_users.bootstrap(svc.db, svc.settings.admin_user, svc.settings.admin_password)
        current_app.extensions["connector.admin_bootstrapped"] = True
    return admin_auth.has_users(svc.db)


def current_user() -> str:
    """The signed-in user of this request (set by `authenticate`)."""
    return str(g.get("dashboard_user") or "?")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_user() -> str | None:
    """The user of the request's session cookie, if it is live (seeing it keeps it alive)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    svc = connector_services()
    idle = svc.settings.session_idle_seconds
    return admin_auth.session_user(svc.db, _hash(session_id), now=time.time(), idle=idle, lifetime=LIFETIME)


def authenticate() -> BaseResponse | None:
    """Let the request through with `g.dashboard_user` set, or answer it: sign-in form, 401 or 429."""
    user = session_user()
    if user is None and request.authorization is not None:
        return _basic()
    if user is None:
        if "text/html" in request.headers.get("Accept", ""):  # a browser asks for HTML by name; scripts say */*
            return redirect(url_for("auth.sign_in_form", next=request.full_path.rstrip("?")), 303)
        return _challenge()
    g.dashboard_user = user
    return None


def _basic() -> BaseResponse | None:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return _challenge()
    name, password = auth.username or "", auth.password or ""
    outcome = admin_users.sign_in(connector_services().db, name, password, client_address())
    if outcome is SignIn.LOCKED:
        return _too_many()
    if outcome is SignIn.WRONG:
        log.warning("step=sign-in a wrong name or password over HTTP Basic from %s", client_address())
        return _challenge()
    g.dashboard_user = name
    return None


def _challenge() -> Response:
    return Response("Sign in to see the dashboard.\n", 401, {"WWW-Authenticate": CHALLENGE}, mimetype="text/plain")


def _too_many() -> Response:
    log.warning("step=sign-in refused: too many failed sign-ins (address %s)", client_address())
    text = "Too many failed sign-ins. Wait 15 minutes and try again.\n"
    return Response(text, 429, {"Retry-After": str(int(admin_users.Throttle().window))}, mimetype="text/plain")


def client_address() -> str:
    """The caller's address (behind CONNECTOR_TRUSTED_PROXIES proxies, the one they forwarded)."""
    return request.remote_addr or "unknown"


# --- form tokens ------------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This browser's form token, made on first use (kept in Flask's signed session cookie)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def is_csrf_ok(sent: str) -> bool:
    """The form sent back the token this browser was given."""
    kept = session.get("csrf")
    return bool(kept and sent) and hmac.compare_digest(str(kept).encode(), sent.encode())


def require_csrf() -> None:
    """Refuse (400) a form that did not come from this dashboard."""
    if not is_csrf_ok(request.form.get("csrf_token", "")):
        abort(400, "The form had expired or did not come from this dashboard. Reload the page and try again.")


# --- the views --------------------------------------------------------------------------------------------


bp.after_request(add_security_headers)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "user": current_user}


@bp.get("/sign-in")
def sign_in_form() -> Any:
    """The sign-in form."""
    if not is_enabled():
        abort(404)
    return render_template("dashboard/sign_in.html", next=_next_path(), name=""), 200


@bp.post("/sign-in")
def sign_in() -> Any:
    """Check the name and password (throttled), open a session, go where the user was heading."""
    if not is_enabled():
        abort(404)
    require_csrf()
    name, password = request.form.get("name", "").strip(), request.form.get("password", "")
    outcome = admin_users.sign_in(connector_services().db, name, password, client_address())
    if outcome is not SignIn.OK:
        return _refused(outcome, name)
    response = redirect(_next_path(), 303)
    _open_session(response, name)
    return response


def _refused(outcome: SignIn, name: str) -> Any:
    if outcome is SignIn.LOCKED:
        log.warning("step=sign-in refused: too many failed sign-ins (address %s)", client_address())
        error, status = "Too many failed sign-ins. Wait 15 minutes and try again.", 429
    else:
        log.warning("step=sign-in a wrong name or password from %s", client_address())
        error, status = "That name and password do not match.", 401
    page = render_template("dashboard/sign_in.html", next=_next_path(), name=name, error=error)
    return page, status


def _open_session(response: BaseResponse, name: str) -> None:
    svc = connector_services()
    session_id, now = secrets.token_urlsafe(32), time.time()
    admin_auth.forget_expired_sessions(svc.db, now=now, idle=svc.settings.session_idle_seconds)
    admin_auth.open_session(svc.db, _hash(session_id), name, now)
    session.clear()  # a new form token for the signed-in browser: nothing from before sign-in carries over
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path=COOKIE_PATH,
        secure=is_cookie_secure(),
        httponly=True,
        samesite="Lax",
    )
    audit.record(
        svc.db,
        step="dashboard",
        event="signed_in",
        message=f"{name} signed in to the dashboard from {client_address()}",
        detail={"user": name},
    )


@bp.post("/sign-out")
def sign_out() -> Any:
    """End the session on the server and in the browser."""
    require_csrf()
    svc = connector_services()
    user = session_user()
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        admin_auth.close_session(svc.db, _hash(session_id))
    if user:
        audit.record(svc.db, step="dashboard", event="signed_out", message=f"{user} signed out", detail={"user": user})
    session.clear()
    flash("You are signed out.", "ok")
    response = redirect(url_for("auth.sign_in_form"), 303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, secure=is_cookie_secure(), httponly=True, samesite="Lax")
    return response


def _next_path() -> str:
    """Where to go after signing in: a dashboard path only, so the form can never send anyone elsewhere."""
    target = request.values.get("next", "")
    if target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.overview")
