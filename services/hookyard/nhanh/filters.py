"""The ``filters.ids`` of Nhanh's list requests: whole numbers, at most 100 per request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hookyard.base.errors import PermanentJobError

IDS_PER_REQUEST = 100
"""Nhanh's bound on ``filters.ids`` of one request (https://apidocs.nhanh.vn/v3/order/source)."""


def id_chunks(ids: Iterable[str | int], what: str) -> Iterator[list[int]]:
    """The distinct ``ids`` (first-seen order) as ints, ``IDS_PER_REQUEST`` at a time;
    ``PermanentJobError`` naming ``what`` (e.g. "customer") for one that is not a whole number."""
    seen: dict[int, None] = {}
    for raw in ids:
        text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) \
            else ""
        if not text.isdigit():
            raise PermanentJobError(f"{raw!r} is not a Nhanh {what} id (a whole number).")
        seen[int(text)] = None
    distinct = list(seen)
    for start in range(0, len(distinct), IDS_PER_REQUEST):
        yield distinct[start:start + IDS_PER_REQUEST]
