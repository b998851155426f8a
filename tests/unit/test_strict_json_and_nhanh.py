"""Parsing untrusted webhook bodies."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.base.errors import InvalidJson, ValidationFailed
from hookyard.base.strict_json import has_long_digit_run, parse_json_body
from hookyard.jobs.views import decode_cursor, encode_cursor
from hookyard.nhanh.webhooks.envelope import parse_webhook
from hookyard.sync.customers import decimal_text


def test_nesting_at_the_limit_is_accepted_and_deeper_is_not():
    assert parse_json_body(b"[" * 64 + b"]" * 64)
    with pytest.raises(InvalidJson):
        parse_json_body(b"[" * 65 + b"]" * 65)


def test_very_deep_nesting_is_invalid_json_not_a_crash():
    with pytest.raises(InvalidJson):
        parse_json_body(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("number", [b"9223372036854775807", b"-9223372036854775807"])
def test_64_bit_integers_are_accepted(number):
    assert parse_json_body(b"[" + number + b"]")


@pytest.mark.parametrize("body", [b"[9223372036854775808]", b"[18446744073709551615]",
                                  b"[123456789012345678901234567890]", b"[-9223372036854775809]",
                                  b"[1e999]", b"[NaN]", b"[-Infinity]", b"\xef\xbb\xbf{}",
                                  b"   ", b'["\\ud800"]', b'{"a": "\\udfff x"}'])
def test_out_of_range_or_non_standard_numbers_and_bad_encodings_are_invalid(body):
    with pytest.raises(InvalidJson):
        parse_json_body(body)


def test_integers_parse_the_same_on_the_fast_and_the_exact_path():
    # 18 digits go through orjson; a run of 19 digits anywhere (here in a string) sends the
    # body through the standard library, which checks every integer against 64 bits.
    fast = parse_json_body(b'{"n": 999999999999999999, "code": "123"}')
    exact = parse_json_body(b'{"n": 999999999999999999, "code": "1234567890123456789"}')

    assert fast["n"] == exact["n"] == 999_999_999_999_999_999
    assert isinstance(fast["n"], int) and isinstance(exact["n"], int)


@given(st.binary(max_size=120) | st.text(alphabet="0123456789a\u0663 ", max_size=120).map(
    lambda text: text.encode()))
def test_a_long_digit_run_is_found_exactly_where_the_regular_expression_finds_one(body):
    # \u0663 (ARABIC-INDIC DIGIT THREE) is a Unicode digit, never an ASCII one.
    assert has_long_digit_run(body) == bool(re.search(rb"[0-9]{19}", body))


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**63 + 1, 2**63 - 1)
                    | st.text(), lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(), children, max_size=4), max_leaves=20))
def test_any_standard_json_document_round_trips(document):
    assert parse_json_body(json.dumps(document, ensure_ascii=False).encode()) == document


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_invalid_json_never_anything_else(body):
    try:
        parse_json_body(body)
    except InvalidJson:
        pass


@given(st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8)
                       | st.lists(st.integers(), max_size=3), max_size=6))
def test_any_object_is_a_webhook_or_a_validation_error(document):
    try:
        parse_webhook(document)
    except ValidationFailed as exc:
        assert exc.details["fields"]


def test_inventory_items_keyed_by_id_or_listed_give_the_same_items():
    product = {"id": 5, "code": "A", "available": 3, "depots": {"1": {"available": 3}}}
    keyed = parse_webhook({"event": "inventoryChange", "businessId": 1, "data": {"5": product}})
    listed = parse_webhook({"event": "inventoryChange", "businessId": 1, "data": [product]})
    assert keyed.items == listed.items and keyed.items[0]["id"] == "5"


def test_cursor_round_trips():
    assert decode_cursor(encode_cursor(1795548372682, "job-1")) == (1795548372682, "job-1")


def inventory_change(**quantities) -> dict:
    product = {"id": 5, "code": "A", "depots": {"1": {"available": 3}}}
    depot = quantities.pop("depot", None)
    product.update(quantities)
    if depot is not None:
        product["depots"]["1"] = depot
    return {"event": "inventoryChange", "businessId": 1, "data": {"5": product}}


@pytest.mark.parametrize("field", ["remain", "shipping", "holding", "damage", "available"])
@pytest.mark.parametrize("value", [0.5, 1.0, -2.5, 4611686018427387904, -1_000_000_001,
                                   1_000_000_001, "7", True])
def test_a_quantity_that_is_not_a_whole_number_within_shopifys_range_is_refused_by_name(
        field, value):
    for document, path in ((inventory_change(**{field: value}), f"data.5.{field}"),
                           (inventory_change(depot={field: value}), f"data.5.depots.1.{field}")):
        with pytest.raises(ValidationFailed) as caught:
            parse_webhook(document)
        assert [f["field"] for f in caught.value.details["fields"]] == [path]


@pytest.mark.parametrize("value", [0, -1_000_000_000, 1_000_000_000, None])
def test_whole_quantities_within_shopifys_range_and_null_are_accepted(value):
    assert parse_webhook(inventory_change(available=value, depot={"available": value})).items


@pytest.mark.parametrize("value", [10**13, -(10**13), 1e13, 4611686018427387904,
                                   float("nan"), float("inf")])
def test_a_total_spent_shopify_cannot_store_is_refused_by_name(value):
    document = {"event": "customerUpdate", "businessId": 1,
                "data": [{"id": 7, "totalSpent": value}]}
    with pytest.raises(ValidationFailed) as caught:
        parse_webhook(document)
    assert [f["field"] for f in caught.value.details["fields"]] == ["data[0].totalSpent"]


@pytest.mark.parametrize(("value", "text"), [
    (1500000, "1500000"), (1000.5, "1000.5"), (9999999999999.5, "9999999999999.5"),
    (1e-05, "0.00001"), (0.30000000000000004, "0.3"), (-1e-12, "0")])
def test_a_total_spent_is_written_as_plain_decimal_text_shopify_accepts(value, text):
    assert decimal_text(value) == text
