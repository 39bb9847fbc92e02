"""Vendors over HTTP: paged listing with its envelope, single GET as a bare entity, into the domain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.basware.schemas import load_vendor
from connector.errors import FatalAPIError
from connector.sandbox.basware import make_vendor
from tests.contract.basware_fixtures import Basware, running_basware


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware(page_size=2) as running:
        yield running


def test_vendor_round_trip_into_the_domain(bw: Basware) -> None:
    entity = make_vendor(
        "S100", "Acme BV", vat="NL123456789B01", email="ap@acme.example", street="Main 1", postcode="1011 AB",
        city="Amsterdam", country="NL", iban="NL91ABNA0417164300", bic="ABNANL2A",
    )  # fmt: skip
    bw.sandbox.add_vendor(entity)
    vendor = load_vendor(bw.client.get_vendor("S100"))
    assert (vendor.code, vendor.vat_number, vendor.city, vendor.iban, vendor.bic) == (
        "S100",
        "NL123456789B01",
        "Amsterdam",
        "NL91ABNA0417164300",
        "ABNANL2A",
    )
    assert vendor.email == "ap@acme.example"


def test_list_vendors_pages_through_everything(bw: Basware) -> None:
    for number in range(5):
        bw.sandbox.add_vendor(make_vendor(f"S{number}", f"Supplier {number}"))
    assert [v["vendorCode"] for v in bw.client.list_vendors()] == [f"S{n}" for n in range(5)]


def test_list_vendors_since_a_moment(bw: Basware) -> None:
    bw.sandbox.add_vendor(make_vendor("OLD", "Old supplier"))
    bw.clock.advance(3600)
    bw.sandbox.add_vendor(make_vendor("NEW", "New supplier"))
    since = "2027-01-15T08:30:00Z"  # FakeClock starts at 2027-01-15T08:00:00Z
    assert [v["vendorCode"] for v in bw.client.list_vendors(last_updated=since)] == ["NEW"]


def test_no_vendors_is_an_empty_listing(bw: Basware) -> None:
    assert list(bw.client.list_vendors()) == []


def test_unknown_vendor_is_fatal(bw: Basware) -> None:
    with pytest.raises(FatalAPIError) as caught:
        bw.client.get_vendor("NOPE")
    assert caught.value.status == 404
