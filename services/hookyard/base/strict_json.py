"""Strict JSON for untrusted bodies: UTF-8 only, no NaN/Infinity, bounded nesting and numbers."""

from __future__ import annotations

import json
import re
from itertools import chain
from typing import Any

import orjson

from hookyard.base.errors import InvalidJson

MAX_DEPTH = 64
MAX_INT = 2**63 - 1
# A \uD800-\uDFFF escape: only these can put a lone surrogate (text that is not Unicode and
# cannot be encoded as UTF-8) into a parsed string; a proper pair is fine.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# orjson (the fast path) reads an integer beyond 64 bits as a float instead of refusing it. Such
# an integer needs 19 digits or more, so a body with no run of 19 digits takes the fast path
# and any other body the exact standard-library path. The run is found by mapping every digit
# to "0" and searching for 19 of them (both in C): ten times faster than the regular expression
# ``[0-9]{19}``, which retries at every digit of a long run (a quarter of a webhook's parse).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


def has_long_digit_run(body: bytes) -> bool:
    """Whether ``body`` holds 19 or more ASCII digits in a row."""
    return _LONG_DIGIT_RUN in body.translate(_DIGITS_TO_ZERO)


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not valid JSON; send numbers as finite decimals.")


def _parse_int(text: str) -> int:
    if len(text) > 20:
        raise InvalidJson("An integer in the body is too large; integers must fit in 64 bits.")
    value = int(text)
    if abs(value) > MAX_INT:
        raise InvalidJson("An integer in the body is too large; integers must fit in 64 bits.")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidJson("A number in the body is out of range; send a finite decimal.")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, level by level (a recursive walk could itself overflow), counted up to
    ``MAX_DEPTH + 1``. Only containers are queued, a level at a time: five times faster than a
    stack of (node, depth) pairs on a large theme template, which theme deploys parse by the
    hundred."""
    deepest = 0
    level = [value] if value.__class__ is dict or value.__class__ is list else []
    while level and deepest <= MAX_DEPTH:
        deepest += 1
        children = chain.from_iterable([n.values() if n.__class__ is dict else n for n in level])
        level = [c for c in children if c.__class__ is dict or c.__class__ is list]
    return deepest


def parse_json_body(body: bytes) -> Any:
    """Decode ``body`` or raise ``InvalidJson`` saying what is wrong."""
    if not body.strip():
        raise InvalidJson("The body is empty; send a JSON object.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"The body is not valid UTF-8 (byte {exc.start}); encode it as UTF-8."
                          ) from None
    value = _parse_exactly(body, text) if has_long_digit_run(body) else _parse_fast(body)
    # Nesting needs an opening bracket per level: a body with few brackets cannot be too deep,
    # which spares the walk over every value of an ordinary webhook.
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise InvalidJson(f"The body nests deeper than {MAX_DEPTH} levels.")
    return value


def _parse_fast(body: bytes) -> Any:
    """orjson: strict RFC 8259 like the exact path (no NaN or Infinity, no number that
    overflows a double, no lone surrogate), in C."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}.") from None


def _parse_exactly(body: bytes, text: str) -> Any:
    """The standard library, with every integer checked against 64 bits."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                           parse_float=_parse_float)
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}.") from None
    if SURROGATE_ESCAPE.search(body):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJson("The body escapes a lone UTF-16 surrogate (\\uD800-\\uDFFF "
                              "without its pair), which is not Unicode text; send valid "
                              "UTF-8.") from None
    return value
