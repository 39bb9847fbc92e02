"""The Basware P2P API client: accounting documents, transfer responses and vendors.

Every call carries a fresh UUID v4 `X-BW-REQUEST-ID`. Redirects are followed here, not by `requests`,
because the targets are pre-signed object-store URLs that reject an `Authorization` header, and `requests`
strips it only across hosts (docs/api-facts.md#basware-paging-and-redirects). `requests` exceptions and error statuses
are translated into `connector.errors` at this boundary; bodies are parsed with `connector.jsonutil` so money
stays `Decimal`.
"""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.auth import AuthBase

from connector import jsonutil, metrics
from connector.basware.auth import DEFAULT_RETRY_AFTER, SYSTEM, ClientCredentialsAuth
from connector.basware.scopes import Endpoint, endpoint, scope_of
from connector.errors import APIError, FatalAPIError, RateLimited, RetriableAPIError
from connector.transport import is_loopback, redirect_refused, require_secure, send

REQUEST_ID_HEADER = "X-BW-REQUEST-ID"
CONTINUATION_HEADER = "x-amz-meta-continuationtoken"
MAX_REDIRECTS = 5
MAX_PAGE_SIZE = 100
RESPONSE_MESSAGE_LIMIT = 250
SOURCE_SYSTEM = "ExactOnline"
_REDIRECTS = {301, 302, 303, 307, 308}

# Every call this client makes; the token request asks for exactly their scopes (connector.basware.scopes).
LIST_DOCUMENTS = endpoint("GET", "/v1/accountingDocuments")
GET_DOCUMENT = endpoint("GET", "/v1/accountingDocuments/{invoice_id}")
ACKNOWLEDGE_DOCUMENT = endpoint("POST", "/v1/accountingDocuments/{invoice_id}/acknowledge")
TRANSFER_RESPONSE = endpoint("POST", "/v1/accountingDocuments/{invoice_id}/transferResponses")
LIST_VENDORS = endpoint("GET", "/v1/vendors")
GET_VENDOR = endpoint("GET", "/v1/vendors/{code}")
LIST_ORDERS = endpoint("GET", "/v1/exportedPurchaseOrders")
GET_ORDER = endpoint("GET", "/v1/exportedPurchaseOrders/{external_code}")
ACKNOWLEDGE_ORDER = endpoint("POST", "/v1/exportedPurchaseOrders/{external_code}/acknowledge")
# One cheap read per API, for `ping`: a 403 there names a scope Basware did not grant.
PROBES = (
    (LIST_DOCUMENTS, {"ProcessingStatus": "WaitingForTransfer", "pageSize": 1}),
    (LIST_ORDERS, {"processingStatus": "WaitingForExport", "pageSize": 1}),
    (LIST_VENDORS, {"pageSize": 1}),
)


class _NoAuthorization(AuthBase):
    """Strip `Authorization` (also one `requests` would add from .netrc) for pre-signed redirect targets."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


class BaswareClient:
    """A thin, thread-safe-enough client for one Basware tenant; close it (or use `with`) when done."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session | None = None,
        timeout: float = 30,
        *,
        auth: ClientCredentialsAuth | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        require_secure(self.base_url)  # credentials never go over clear-text networks
        self._owns_session = session is None
        self.session = session or requests.Session()
        self.timeout = timeout
        self.auth = auth or ClientCredentialsAuth(
            self.base_url, client_id, client_secret, session=self.session, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"BaswareClient({self.base_url!r}, client_id={self.auth.client_id!r})"

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> BaswareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounting documents -------------------------------------------------------------------------------

    def list_accounting_documents(
        self,
        status: str = "WaitingForTransfer",
        page_size: int = MAX_PAGE_SIZE,
        *,
        company_code: str | None = None,
        last_updated: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every accounting document in `status`, page by page (404 means there are none)."""
        # Capital P: this endpoint alone spells it ProcessingStatus (docs/api-facts.md, Basware invoices).
        params = {"ProcessingStatus": status, "pageSize": _page_size(page_size)}
        params.update(_optional(companyCode=company_code, lastUpdated=last_updated))
        return self._paged(LIST_DOCUMENTS, params, "accountingDocuments")

    def get_accounting_document(self, invoice_id: str) -> dict[str, Any]:
        """One accounting document with its coding rows, unwrapped from its envelope."""
        response = self._request(GET_DOCUMENT, GET_DOCUMENT.path(invoice_id=invoice_id), allow_404=True)
        documents = [] if response.status_code == 404 else _items(response, "accountingDocuments")
        if not documents:
            raise FatalAPIError(
                f"accounting document {invoice_id} not found",
                system=SYSTEM,
                status=404,
                request_id=_rid(response),
            )
        return documents[0]

    def acknowledge(self, invoice_id: str) -> bool:
        """Mark a document as being transferred; False when it was already acknowledged (405)."""
        path = ACKNOWLEDGE_DOCUMENT.path(invoice_id=invoice_id)
        response = self._request(ACKNOWLEDGE_DOCUMENT, path, allowed={405})
        return response.status_code != 405

    def post_transfer_response(
        self,
        invoice_id: str,
        *,
        success: bool,
        message: str,
        voucher_number: str | None = None,
        external_code: str | None = None,
    ) -> None:
        """Report the ERP result of a transfer; each new response gets a fresh externalCode (Basware's rule).

        Pass `external_code` to send again a response that may have arrived (a crash after sending it): the
        same code says it is the same response, not a second one.
        """
        body: dict[str, Any] = {
            "externalCode": external_code or str(uuid.uuid4()),
            "success": success,
            "responseMessage": message[:RESPONSE_MESSAGE_LIMIT],
            "transferDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "paymentBlock": False,
            "sourceSystem": SOURCE_SYSTEM,
        }
        if voucher_number is not None:
            body["voucherNumber1"] = voucher_number
        self._request(TRANSFER_RESPONSE, TRANSFER_RESPONSE.path(invoice_id=invoice_id), body=body)

    # -- vendors --------------------------------------------------------------------------------------------

    def get_vendor(self, code: str) -> dict[str, Any]:
        """One vendor entity by its external code (the bare entity, no envelope)."""
        response = self._request(GET_VENDOR, GET_VENDOR.path(code=code))
        payload = _json(response)
        if not isinstance(payload, dict):
            raise RetriableAPIError("vendor response is not an object", system=SYSTEM, request_id=_rid(response))
        return payload

    def list_vendors(self, last_updated: str | None = None) -> Iterator[dict[str, Any]]:
        """Every vendor, optionally only those updated after `last_updated` (ISO date-time)."""
        params: dict[str, Any] = {"pageSize": MAX_PAGE_SIZE, **_optional(lastUpdated=last_updated)}
        return self._paged(LIST_VENDORS, params, "vendorEntities")

    def ping(self) -> None:
        """Prove the credentials and the API work: a token and one cheap, read-only call."""
        self.auth.token()
        call, params = PROBES[0]
        self._request(call, params=params, allow_404=True)

    def missing_scopes(self) -> list[str]:
        """The scopes we need that Basware did not grant: `ping`'s diagnosis when a call is refused with 403.

        A fresh token response says which of the asked scopes were granted, and one cheap read per API
        catches a scope granted in name but refused in practice.
        """
        missing = set(self.auth.missing_scopes())
        for call, params in PROBES:
            try:
                self._request(call, params=params, allow_404=True)
            except FatalAPIError as exc:
                if exc.status != 403:
                    raise
                missing.add(call.scope)
        return sorted(missing)

    # -- transport ------------------------------------------------------------------------------------------

    def _paged(self, call: Endpoint, params: dict[str, Any], envelope: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            headers = {CONTINUATION_HEADER: token} if token else None
            response = self._request(call, params=params, headers=headers, allow_404=True)
            if response.status_code == 404:  # Basware's "successful, no records"
                return
            yield from _items(response, envelope)
            token = _continuation_token(response)
            if not token:
                return

    def _request(
        self,
        call: Endpoint,
        path: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        allow_404: bool = False,
        allowed: set[int] | None = None,
    ) -> requests.Response:
        """Send one declared call (once more after a 401 or 403, with a new token), follow redirects, classify."""
        method, url = call.method, self.base_url + (path or call.template)
        response = self._send(method, url, params, headers, body)
        if response.status_code in (401, 403):
            # The token may have been revoked or expired early, or be one stored before we asked for more
            # scopes (an upgrade): renew once, then believe the answer.
            response.close()
            self.auth.invalidate()
            response = self._send(method, url, params, headers, body)
        response = self._follow_redirects(response)
        ok = set(allowed or ()) | ({404} if allow_404 else set())
        if response.status_code >= 400 and response.status_code not in ok:
            raise _api_error(response)
        return response

    def _send(self, method: str, url: str, params: Any, headers: dict[str, str] | None, body: Any) -> requests.Response:
        all_headers = {"Accept": "application/json", REQUEST_ID_HEADER: str(uuid.uuid4()), **(headers or {})}
        data = None
        if body is not None:
            data = jsonutil.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        return self._call(
            method, url, params=params, headers=all_headers, data=data, auth=self.auth, allow_redirects=False
        )

    def _follow_redirects(self, response: requests.Response) -> requests.Response:
        chain: list[requests.Response] = []
        while response.status_code in _REDIRECTS and "Location" in response.headers:
            if len(chain) >= MAX_REDIRECTS:
                raise FatalAPIError("too many redirects", system=SYSTEM, status=response.status_code)
            chain.append(response)
            response.close()
            location = urljoin(response.url, response.headers["Location"])
            if not may_follow(self.base_url, location):
                raise redirect_refused(response, SYSTEM)
            headers = {"Accept": "application/json", REQUEST_ID_HEADER: str(uuid.uuid4())}
            response = self._call("GET", location, headers=headers, auth=_NoAuthorization(), allow_redirects=False)
        response.history = chain
        return response

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """The one place `requests` is called; its exceptions become connector errors here."""
        try:
            with metrics.timed_call(SYSTEM, method, url) as call:
                response = send(self.session, method, url, deadline=self.timeout, **kwargs)
                call.status = response.status_code
                return response
        except (requests.ConnectionError, requests.Timeout) as exc:
            request_id = (kwargs.get("headers") or {}).get(REQUEST_ID_HEADER)
            raise RetriableAPIError(
                f"{method} {_path_of(url)} failed: {type(exc).__name__}", system=SYSTEM, request_id=request_id
            ) from None
        except requests.RequestException as exc:
            raise FatalAPIError(f"{method} {_path_of(url)} failed: {type(exc).__name__}", system=SYSTEM) from None

    # -- exported purchase orders ---------------------------------------------------------------------------

    def list_exported_purchase_orders(
        self,
        status: str = "WaitingForExport",
        page_size: int = MAX_PAGE_SIZE,
        *,
        company_code: str | None = None,
        last_updated: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every exported purchase order in `status`, page by page (404 means there are none)."""
        params = {"processingStatus": status, "pageSize": _page_size(page_size)}
        params.update(_optional(companyCode=company_code, lastUpdated=last_updated))
        return self._paged(LIST_ORDERS, params, "exportedPurchaseOrders")

    def get_exported_purchase_order(self, external_code: str) -> dict[str, Any]:
        """One exported purchase order with its lines and coding rows, bare or unwrapped from its envelope."""
        response = self._request(GET_ORDER, GET_ORDER.path(external_code=external_code), allow_404=True)
        payload = None if response.status_code == 404 else _json(response)
        if isinstance(payload, dict) and isinstance(payload.get("exportedPurchaseOrders"), list):
            payload = next(iter(payload["exportedPurchaseOrders"]), None)
        if not isinstance(payload, dict):
            raise FatalAPIError(
                f"exported purchase order {external_code} not found",
                system=SYSTEM,
                status=404,
                request_id=_rid(response),
            )
        return payload

    def acknowledge_purchase_order(self, external_code: str) -> bool:
        """Mark an exported order as taken by the ERP; False when it was already acknowledged (405)."""
        path = ACKNOWLEDGE_ORDER.path(external_code=external_code)
        response = self._request(ACKNOWLEDGE_ORDER, path, allowed={405})
        return response.status_code != 405


def may_follow(origin: str, target: str) -> bool:
    """Whether to follow a Basware redirect: to https, or from a loopback sandbox to loopback."""
    scheme = urlsplit(target).scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback(origin) and is_loopback(target))


def _api_error(response: requests.Response) -> APIError:
    """Classify an error response: 5xx retriable, 429 rate limited, other 4xx fatal."""
    status = response.status_code
    common: dict[str, Any] = {
        "system": SYSTEM,
        "status": status,
        "request_id": _rid(response),
        "body": response.content,
        "code": _error_code(response),
    }
    what = f"{response.request.method} {_path_of(response.url)}"
    if status == 429:
        return RateLimited(f"{what} rate limited", retry_at=_retry_at(response), **common)
    if status == 403:
        scope = scope_of(response.request.method or "GET", urlsplit(response.url).path)
        return FatalAPIError(f"{what} refused: the Basware API client lacks scope {scope}", **common)
    if status >= 500:
        return RetriableAPIError(f"{what} failed on the server", **common)
    return FatalAPIError(f"{what} rejected", **common)


def _rid(response: requests.Response) -> str | None:
    """Basware's own request id when it sends one, else the X-BW-REQUEST-ID we sent."""
    return response.headers.get("x-amzn-RequestId") or response.request.headers.get(REQUEST_ID_HEADER)


def _error_code(response: requests.Response) -> str | None:
    """The first error code of a ResponseEntityList body, when there is one."""
    try:
        payload = jsonutil.loads(response.content)
        return str(payload["errors"][0]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _retry_at(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return time.time() + int(value)
    parsed = email.utils.parsedate_to_datetime(value) if value else None
    return parsed.timestamp() if parsed else time.time() + DEFAULT_RETRY_AFTER


def _json(response: requests.Response) -> Any:
    try:
        return jsonutil.loads(response.content)
    except ValueError:
        raise RetriableAPIError(
            "response is not JSON", system=SYSTEM, status=response.status_code, request_id=_rid(response)
        ) from None


def _items(response: requests.Response, envelope: str) -> list[dict[str, Any]]:
    payload = _json(response)
    items = payload.get(envelope) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise RetriableAPIError(
            f"response has no {envelope!r} list",
            system=SYSTEM,
            status=response.status_code,
            request_id=_rid(response),
        )
    return items


def _continuation_token(response: requests.Response) -> str | None:
    """The next-page token from the final response or, if a redirect carried it, from the redirect."""
    for candidate in [response, *reversed(response.history)]:
        token = candidate.headers.get(CONTINUATION_HEADER)
        if token:
            return token
    return None


def _page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


def _optional(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _path_of(url: str) -> str:
    """The URL without its query string: enough to say which call failed, nothing sensitive."""
    return url.split("?", 1)[0]
