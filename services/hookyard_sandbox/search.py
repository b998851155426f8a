"""The slice of Shopify's search syntax the sandbox understands: ``field:value`` terms joined by
``OR`` (values optionally double-quoted, with ``\\"`` and ``\\\\`` escapes).

``sku:"A-1" OR sku:B`` -> ``[("sku", "A-1"), ("sku", "B")]``. Anything else (AND, NOT, ranges,
bare words) is rejected with ``ValueError`` so a client using more than the sandbox knows fails
loudly instead of matching nothing.
"""

from __future__ import annotations


def parse_terms(query: str) -> list[tuple[str, str]]:
    """The ``(field, value)`` terms of an OR-query; raises ``ValueError`` on other syntax."""
    terms: list[tuple[str, str]] = []
    i, n = 0, len(query)
    expect_term = True
    while True:
        while i < n and query[i].isspace():
            i += 1
        if i >= n:
            break
        if not expect_term:
            if query.startswith("OR", i) and (i + 2 == n or query[i + 2].isspace()):
                i += 2
                expect_term = True
                continue
            raise ValueError(f"sandbox search supports only 'field:value OR ...' (at {i})")
        colon = query.find(":", i)
        if colon <= i or any(c.isspace() for c in query[i:colon]):
            raise ValueError(f"expected field:value at {i}")
        field = query[i:colon]
        i = colon + 1
        if i < n and query[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and query[i] != '"':
                if query[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(query[i])
                i += 1
            if i >= n:
                raise ValueError("unterminated quoted value")
            i += 1
            value = "".join(chars)
        else:
            start = i
            while i < n and not query[i].isspace():
                i += 1
            value = query[start:i]
        terms.append((field, value))
        expect_term = False
    if expect_term and terms:
        raise ValueError("query ends with OR")
    return terms


PHONE_FORMATTING = str.maketrans("", "", " -.()")


def normalize_phone(phone: str) -> str:
    """The number without its formatting (spaces, ``-``, ``.``, brackets), so ``+84 90-123``
    matches ``+8490123``. Nothing else is dropped or rewritten: ``+84 90123 x`` does not match
    ``+8490123``, ``090123`` does not match ``+8490123`` (the sandbox must not find customers
    Shopify's search would not)."""
    return phone.strip().translate(PHONE_FORMATTING)
