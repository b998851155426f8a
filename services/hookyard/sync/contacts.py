"""Customer contact details in the one form they are matched in: phones in E.164, emails
lowercased.

Matching a Nhanh.vn customer to a Shopify customer writes that customer's total spent, so it
must never guess (docs/sync.md, *Customers*). A phone number is normalised only when one reading
of it is possible; everything else does not match anything:

1. Formatting is dropped: spaces, ``-``, ``.``, ``(`` and ``)``. Any other character (letters,
   ``/``, ``*``, ``#``, an extension, a second ``+``, digits of other scripts) and the number is
   not normalised.
2. ``+`` then digits is international: kept as ``+`` and its digits if they are 8 to 15 (E.164's
   bounds) and do not start with 0. A Vietnamese one (``+84``) must have 9 or 10 digits after
   the country code, not starting with 0 (so ``+84 (0) 912 ...`` is not guessed at).
3. Digits without ``+`` are read as a *Vietnamese national* number, because Nhanh.vn is a
   Vietnamese POS: ``0`` then 9 or 10 digits not starting with 0 (mobiles ``09x xxx xxxx``,
   landlines ``02x xxxx xxxx``) become ``+84`` and those digits: ``0900000001`` ->
   ``+84900000001``.
4. Anything else is not normalised: ``84900000001`` or ``44900000001`` (a country code without
   ``+``, or a Vietnamese number without its 0?), ``0084...`` (write ``+84...``), 9 bare digits.

Shopify stores customer phones in E.164, so a Shopify phone is normalised by rule 2 only
(``national=False``): a stored phone without ``+`` is not matched rather than assumed Vietnamese.

Emails match case-insensitively and otherwise exactly: lowercased, nothing trimmed or rewritten.
"""

from __future__ import annotations

FORMATTING = str.maketrans("", "", " -.()")
VIETNAM = "84"
E164_MIN_DIGITS = 8
E164_MAX_DIGITS = 15
VIETNAM_NATIONAL_DIGITS = (9, 10)
"""Digits of a Vietnamese number after its trunk ``0`` (or after ``+84``)."""


def e164(phone: str | None, *, national: bool = True) -> str | None:
    """``phone`` in E.164 (``+84900000001``) by the rules above, or None when it cannot be
    normalised unambiguously. ``national`` allows rule 3 (Nhanh's Vietnamese national form)."""
    if not phone:
        return None
    text = phone.translate(FORMATTING)
    international = text.startswith("+")
    digits = text[1:] if international else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    if international:
        if not E164_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS or digits[0] == "0":
            return None
        if digits.startswith(VIETNAM) and not _vietnamese_subscriber(digits[len(VIETNAM):]):
            return None
        return "+" + digits
    if national and digits[0] == "0" and _vietnamese_subscriber(digits[1:]):
        return "+" + VIETNAM + digits[1:]
    return None


def _vietnamese_subscriber(digits: str) -> bool:
    return len(digits) in VIETNAM_NATIONAL_DIGITS and digits[0] != "0"


def email_key(email: str | None) -> str | None:
    """``email`` lowercased (matching is case-insensitive and exact), or None when empty."""
    return email.lower() if email else None
