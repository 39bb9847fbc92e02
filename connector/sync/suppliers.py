"""One supplier resolver for invoices, purchase orders and the vendor sync: which Exact account a Basware
supplier is, by the tenant's vendor mapping, then account code, VAT number and name.

Exact's crm/Accounts answers only filtered queries (mandatory filtering: Code, ID, IsSupplier, Name,
VATNumber, ... may be filtered on), so each rule is one targeted query on those fields alone:
`Code eq`, `VATNumber eq` (as Basware wrote it and in its compact form), `Name eq`, each with
`IsSupplier eq true`. `Name eq` replaces the `trim(Name) eq` the invoice chain used: that a function call
satisfies the mandatory-filter check is confirmed by no source, while `Name eq` is. We send the name trimmed
and single-spaced; a supplier whose name Exact keeps with stray spaces is then found by code or VAT number,
or mapped by hand. Candidates are compared again by our own rules (`mapping.vendors`), and more than one
blocks. Every match the documents find is remembered in the mapping with the rule that found it.

A name is no proof of identity: anyone who can add a Basware vendor can give it an existing supplier's name,
and a link by name would send that supplier's payments wherever the new vendor says. So a match by name alone
is only a suggestion (`SupplierSuggested`, a block naming the supplier) until a person maps it, and nothing
is created in its place: a look-alike supplier would be as wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from connector.basware.schemas import load_vendor
from connector.domain import Vendor
from connector.errors import FatalAPIError, RecordBlocked
from connector.exact import odata
from connector.exact.client import ExactClient
from connector.mapping import vendors as rules
from connector.mapping.problems import Problem, blocked, problem
from connector.store import audit, mappings
from connector.store.db import Database
from connector.store.locks import lease
from connector.store.mappings import MappingEntry
from connector.store.tenants import Tenant
from connector.sync import divisions
from connector.sync.master import supplier_by_code
from connector.sync.plan import Supplier
from connector.sync.services import Services

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CREATE_LEASE = 120.0  # one POST to Exact with its timeout fits easily
SUPPLIER = "IsSupplier eq true"
NAME_ONLY = "name"  # the mapping origin earlier versions wrote when they linked by name: nobody confirmed it
Details = Callable[[], tuple[str | None, str | None]]  # (VAT number, name), asked for only when needed


@dataclass(frozen=True)
class SupplierRef:
    """The supplier as a Basware document names it."""

    code: str
    name: str
    vat_number: str | None = None


def resolve(
    svc: Services, tenant: Tenant, ref: SupplierRef, *, division: int | None = None, read_only: bool = False
) -> Supplier:
    """The Exact supplier of a document's Basware supplier in its division; created when allowed, else blocked.

    `read_only` (the fit check) finds the supplier the same way but creates nothing and remembers nothing:
    a supplier that would be created comes back with `how` "created" and no id.
    """
    exact = svc.exact(tenant, division=division)
    key = divisions.scoped(ref.code, exact.division, tenant)  # an account GUID holds in one division only
    entry = remembered(svc.db, tenant.id, key)
    vendor = BaswareVendor(svc, tenant, ref.code)
    try:
        if entry is not None:
            return confirmed(svc.db, tenant, exact, ref.code, entry)
        found = match(exact, ref.code, lambda: _details(ref, vendor.get()))
    except SupplierSuggested as suggestion:
        if read_only:  # the fit check only looks: its findings are its report, not the audit
            raise
        created = created_meanwhile(svc.db, tenant, exact, ref.code, key)
        if created is not None:
            return created
        audit_suggestion(svc, tenant, "map_vendor", suggestion)
        raise
    if found is None:
        return _create_or_block(svc, tenant, exact, ref, vendor, read_only=read_only)
    account, how = found
    if read_only:
        return Supplier.of_account(account, how)
    kept = mappings.remember(svc.db, tenant.id, "vendor", key, str(account["ID"]), origin=how)
    if kept.target != str(account["ID"]) or kept.origin != how:
        # A racing chain (or an operator) set the mapping while we searched: theirs stands.
        return mapped_supplier(svc.db, tenant, exact, ref.code, kept)
    return Supplier.of_account(account, how)


def confirmed(db: Database, tenant: Tenant, exact: ExactClient, code: str, entry: MappingEntry) -> Supplier:
    """The supplier of a vendor mapping, unless an earlier version made it from a name alone (then a suggestion)."""
    if entry.origin == NAME_ONLY:
        raise SupplierSuggested(code, mapped_account(exact, code, entry.target), linked_by_name=True)
    return mapped_supplier(db, tenant, exact, code, entry)


def created_meanwhile(db: Database, tenant: Tenant, exact: ExactClient, code: str, key: str) -> Supplier | None:
    """The supplier another chain created for this vendor while we searched; None when none was.

    Its creator holds the creation lease from before the POST until the mapping is kept, so a name match on an
    account that appeared mid-search (code and VAT number were asked before it existed) is settled by waiting
    for that lease: then the mapping says whether the name was the vendor's own new supplier or a look-alike.
    """
    with creating(db, tenant.id, key):
        entry = remembered(db, tenant.id, key)
    if entry is None or entry.origin == NAME_ONLY:
        return None
    return mapped_supplier(db, tenant, exact, code, entry)


def _details(ref: SupplierRef, basware: Vendor | None) -> tuple[str | None, str | None]:
    vat = ref.vat_number or (basware.vat_number if basware is not None else None)
    return vat, ref.name or (basware.name if basware is not None else None)


class BaswareVendor:
    """The Basware vendor of a document, fetched at most once and only when a rule needs it."""

    def __init__(self, svc: Services, tenant: Tenant, code: str) -> None:
        self._svc, self._tenant, self._code = svc, tenant, code
        self._loaded = False
        self._vendor: Vendor | None = None

    def get(self) -> Vendor | None:
        """The vendor, or None when Basware's vendor API does not know the code."""
        if not self._loaded:
            try:
                self._vendor = load_vendor(self._svc.basware(self._tenant).get_vendor(self._code))
            except (FatalAPIError, RecordBlocked):  # not in the vendor API: match on what the document says
                self._vendor = None
            self._loaded = True
        return self._vendor


def _create_or_block(
    svc: Services, tenant: Tenant, exact: ExactClient, ref: SupplierRef, vendor: BaswareVendor, *, read_only: bool
) -> Supplier:
    if not tenant.auto_create_vendors:
        text = f"not found in Exact division {exact.division} by code, VAT number or name"
        raise blocked(
            [vendor_problem(ref.code, None, text)],
            f"vendor {ref.code} ({ref.name}) not found in Exact division {exact.division}; create it or add a mapping",
        )
    key = divisions.scoped(ref.code, exact.division, tenant)
    if read_only:
        return Supplier("", "created", ref.code, ref.name, notes=("would be created in Exact",))
    with creating(svc.db, tenant.id, key):
        entry = remembered(svc.db, tenant.id, key)
        if entry is not None:
            return mapped_supplier(svc.db, tenant, exact, ref.code, entry)
        return _create(svc, tenant, exact, key, vendor.get() or Vendor(code=ref.code, name=ref.name))


def _create(svc: Services, tenant: Tenant, exact: ExactClient, key: str, vendor: Vendor) -> Supplier:
    fields = rules.account_fields(vendor)
    # An earlier attempt may have created the account and died before remembering it: adopt that one.
    existing = exact.find_supplier_by_code(fields["Code"]) if "Code" in fields else None
    created = existing or exact.create_account(fields)
    how = "code" if existing else "created"
    # Under the lease and after a miss: nobody else can have remembered this vendor meanwhile.
    mappings.put(svc.db, tenant.id, "vendor", key, str(created["ID"]), origin=how)
    if existing:
        return Supplier.of_account(created, how)
    bank = add_bank_account(exact, str(created["ID"]), vendor.iban, vendor.bic)
    kept = {key: value for key, value in fields.items() if key not in ("IsSupplier", "Status")}
    return replace(Supplier.of_account(created, how), fields=kept, notes=(bank,) if bank else ())


def is_account_id(target: str) -> bool:
    """True when a mapping target is an Exact account id rather than an account code."""
    return bool(GUID.match(target.strip()))


def match(exact: ExactClient, code: str, details: Details) -> tuple[dict[str, Any], str] | None:
    """(account, rule) of the one Exact supplier found by code, VAT number or name; None when none is found.

    Several suppliers found by one rule block the record: a person must choose with a vendor mapping.
    """
    if len(code.strip()) <= odata.ACCOUNT_CODE_WIDTH:
        found = _suppliers(exact, code_condition(code))
        if found:
            return found[0], "code"  # codes are unique within a division
    vat, name = details()
    if vat and rules.normalise_vat(vat):
        found = rules.by_vat(_suppliers(exact, _vat_condition(vat)), vat)
        if found:
            return _one(found, "vat", code), "vat"
    name = " ".join((name or "").split())
    if name:
        found = rules.by_name(_suppliers(exact, f"Name eq {odata.string(name)}"), name)
        if found:
            raise SupplierSuggested(code, _one(found, "name", code))
    return None


class SupplierSuggested(RecordBlocked):
    """No supplier has the vendor's code or VAT number, but one has its name: a person must confirm it."""

    def __init__(self, code: str, account: dict[str, Any], *, linked_by_name: bool = False) -> None:
        self.code, self.account, self.linked_by_name = code, account, linked_by_name
        self.suggestion = rules.describe([account])[0]
        account_code = str(account.get("Code") or "").strip()
        named = f"Exact has a supplier named {account.get('Name') or ''} (code {account_code})"
        if linked_by_name:  # remembered by an earlier version that linked by name: never confirmed by anyone
            found = "was linked by name only by an earlier version, never confirmed"
            advice = "confirm the vendor mapping if it is the same"
        else:
            found, advice = "not found by code or VAT", "map it if it is the same"
        text = f"{found}; {named}: {advice}"
        super().__init__(f"supplier {code} {text}", [vendor_problem(code, None, text, [self.suggestion]).as_dict()])


def audit_suggestion(svc: Services, tenant: Tenant, step: str, suggestion: SupplierSuggested) -> None:
    """Audit a name-only match offered to a person, with the supplier it names."""
    audit.record(
        svc.db, tenant_id=tenant.id, step=step, event="vendor_suggested", message=str(suggestion),
        detail={"vendor": suggestion.code, "account_id": str(suggestion.account.get("ID")),
                "suggestions": [suggestion.suggestion]},
    )  # fmt: skip


def code_condition(code: str) -> str:
    """The filter for an account code; Exact keeps codes left-padded to 18 characters."""
    return f"Code eq {odata.string(odata.pad_account_code(code))}"


def _vat_condition(vat: str) -> str:
    # Exact keeps VAT numbers as typed; ask for the number as Basware wrote it and in its compact form.
    variants = dict.fromkeys([vat.strip(), rules.normalise_vat(vat)])
    return "(" + " or ".join(f"VATNumber eq {odata.string(v)}" for v in variants) + ")"


def _suppliers(exact: ExactClient, condition: str) -> list[dict[str, Any]]:
    return exact.find_accounts(f"{condition} and {SUPPLIER}")


def _one(candidates: list[dict[str, Any]], how: str, code: str) -> dict[str, Any]:
    if len(candidates) > 1:
        names = rules.describe(candidates)
        label = rules.HOW[how]
        raise blocked(
            [vendor_problem(code, None, f"ambiguous: {len(candidates)} Exact suppliers have the same {label}", names)],
            f"vendor {code} matches {len(candidates)} Exact suppliers by {label}: {'; '.join(names)}; "
            "add a vendor mapping to choose one",
        )
    return candidates[0]


def mapped_supplier(db: Database, tenant: Tenant, exact: ExactClient, code: str, entry: MappingEntry) -> Supplier:
    """The supplier a vendor mapping names; an account id costs no call, a code is looked up (cached)."""
    target = entry.target.strip()
    if is_account_id(target):
        return Supplier(target.lower(), "mapping", origin=entry.origin)
    found = supplier_by_code(db, tenant.id, exact, target)
    if found is None:
        raise mapping_broken(code, target, exact.division)
    return Supplier(str(found["ID"]), "mapping", found.get("Code"), found.get("Name"), origin=entry.origin)


def mapped_account(exact: ExactClient, code: str, target: str) -> dict[str, Any]:
    """The whole Exact account a vendor mapping names (the vendor sync compares its fields)."""
    target = target.strip()
    condition = f"ID eq {odata.guid(target)}" if is_account_id(target) else f"{code_condition(target)} and {SUPPLIER}"
    found = exact.find_accounts(condition)
    if not found:
        raise mapping_broken(code, target, exact.division)
    return found[0]


def mapping_broken(code: str, target: str, division: int) -> RecordBlocked:
    """The block for a vendor mapping whose account is not a supplier in the division."""
    return blocked(
        [vendor_problem(code, target, f"mapped supplier {target} not found in Exact division {division}")],
        f"vendor {code} is mapped to Exact account {target}, which is not a supplier in Exact division "
        f"{division}; correct the vendor mapping",
    )


@contextmanager
def creating(db: Database, tenant_id: int, code: str) -> Iterator[None]:
    """Hold the one lease under which a vendor's supplier account is created, by a document chain or the sync.

    However many chains and syncs meet a new vendor at once, the first creates and remembers it, and the
    others, getting the lease after it, find the mapping.
    """
    with lease(db, f"vendor-create:{tenant_id}:{code}", ttl=CREATE_LEASE, wait=CREATE_LEASE):
        yield


def remembered(db: Database, tenant_id: int, code: str) -> MappingEntry | None:
    """The tenant's vendor mapping for a Basware supplier code, with its origin."""
    return mappings.entry(db, tenant_id, "vendor", code)


def add_bank_account(exact: ExactClient, account_id: str, iban: str | None, bic: str | None) -> str:
    """Register the vendor's IBAN on the Exact account when it is not there yet; what was done, in words."""
    if not iban:
        return ""
    iban = re.sub(r"\s", "", iban).upper()
    known = {re.sub(r"\s", "", str(b.get("BankAccount") or "")).upper() for b in exact.bank_accounts(account_id)}
    if iban in known:
        return ""
    exact.create_bank_account({"Account": account_id, "BankAccount": iban, "BICCode": bic})
    return f"bank account {iban} added"


def vendor_problem(code: str, mapped: str | None, text: str, suggestions: list[str] | None = None) -> Problem:
    """A vendor problem in the per-line form every blocked record uses."""
    return problem(None, "vendor", code, mapped, text, suggestions)
