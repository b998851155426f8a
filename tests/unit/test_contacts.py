"""Customer contacts: phones normalise to E.164 only when one reading is possible, emails match
case-insensitively and exactly, and a lookup keeps only exact matches of every page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hookyard.sync.contacts import e164, email_key
from hookyard.sync.customers import AMBIGUOUS, NO_MATCH, UNREAD, look_up_contacts


@pytest.mark.parametrize(("sent", "normalised"), [
    ("0900000001", "+84900000001"),
    ("090 000 0001", "+84900000001"),
    ("090-000-0001", "+84900000001"),
    ("(024) 3826.1234", "+842438261234"),
    ("+84900000001", "+84900000001"),
    ("+84 900 000 001", "+84900000001"),
    ("+1 (555) 900-000-001", "+1555900000001"),
    ("+44 900 000 001", "+44900000001"),
])
def test_vietnamese_national_and_international_numbers_normalise_to_e164(sent, normalised):
    assert e164(sent) == normalised


@pytest.mark.parametrize("sent", [
    "44900000001",       # a country code without '+', or a Vietnamese number without its 0?
    "84900000001",
    "900000001",         # nine bare digits: whose?
    "0084900000001",     # the international prefix: write '+84'
    "+84 (0) 900 000 001",
    "+840900000001",
    "+84 900",
    "+8490000000012",    # eleven digits after +84
    "09000000012345",
    "00900000001",
    "0900000001 ext 2",
    "0900000001/2",
    "++84900000001",
    "84+900000001",
    "+0900000001",
    "+",
    "",
    None,
    "\uff10\uff19\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff11",  # fullwidth digits
    "\u0660\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661",  # Arabic-Indic digits
])
def test_a_number_that_cannot_be_read_one_way_is_not_normalised(sent):
    assert e164(sent) is None


def test_a_phone_stored_in_shopify_is_read_as_e164_only():
    assert e164("+84900000001", national=False) == "+84900000001"
    assert e164("0900000001", national=False) is None


def test_emails_match_case_insensitively_and_otherwise_exactly():
    assert email_key("Lan@Example.VN") == "lan@example.vn"
    assert email_key(" lan@example.vn") == " lan@example.vn"
    assert email_key("") is None and email_key(None) is None


class FuzzySearch:
    """Answers like Shopify's search, which is not exact, only looser: every customer whose
    phone ends in the same digit as a term or whose email contains one, ``first`` a page."""

    def __init__(self, customers: list[dict[str, Any]]) -> None:
        self.customers = customers
        self.calls = 0

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *,
                estimated_cost: int) -> dict[str, Any]:
        assert variables is not None
        self.calls += 1
        terms = [t.split(":", 1)[1].strip('"') for t in variables["query"].split(" OR ")]
        hits = [c for c in self.customers
                if any((c["phone"] or "x")[-1] == t[-1] or t in (c["email"] or "")
                       for t in terms)]
        start = int(variables.get("after") or 0)
        page = hits[start:start + variables["first"]]
        end = start + len(page)
        return {"customers": {"edges": [{"node": c} for c in page],
                              "pageInfo": {"hasNextPage": end < len(hits),
                                           "endCursor": str(end)}}}


def customer(n: int, phone: str | None, email: str | None = None) -> dict[str, Any]:
    return {"id": f"gid://shopify/Customer/{n}", "phone": phone, "email": email}


def test_a_lookup_keeps_only_exact_matches_however_loose_shopifys_search_is():
    search = FuzzySearch([customer(1, "+84900000001", "lan@example.vn"),
                          customer(2, "+1555900000001", "lan@example.vn.other.example")])

    found = look_up_contacts(search, ["phone:+44900000001", "phone:+84900000001",
                                      "email:lan@example.vn"])

    assert found == {"phone:+44900000001": NO_MATCH,
                     "phone:+84900000001": "gid://shopify/Customer/1",
                     "email:lan@example.vn": "gid://shopify/Customer/1"}


def test_a_lookup_reads_every_page_and_finds_a_contact_two_customers_share():
    search = FuzzySearch([customer(n, "+84 900 000 009") if n in (1, 7)
                          else customer(n, f"+8491000{n:03d}9") for n in range(1, 10)])

    found = look_up_contacts(search, ["phone:+84900000009"])

    assert found == {"phone:+84900000009": AMBIGUOUS}
    assert search.calls > 1  # the second holder was on a later page


def test_a_search_with_more_pages_than_one_lookup_reads_matches_nothing():
    search = FuzzySearch([customer(n, f"+8491{n:06d}9") for n in range(1, 400)]
                         + [customer(999, "+84900000009")])

    assert look_up_contacts(search, ["phone:+84900000009"]) == {"phone:+84900000009": UNREAD}
