"""Collecting every problem of a webhook body, with its field path, for one 422."""

from __future__ import annotations

from typing import Any

from hookyard.base.errors import ValidationFailed

MAX_PROBLEMS = 50


class Problems:
    """Problems found so far; ``raise_if_any`` turns them into a 422 ``validation_failed``."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"field": field, "problem": problem})

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(
                "The webhook body does not have the expected shape; see 'fields' for each "
                "problem, fix the sender and deliver again.",
                details={"fields": self.items},
            )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    """A JSON integer. ``1.0`` is not one: JSON has no integer type of its own, but a sender
    that writes a decimal point sends a measured or computed amount, and guessing how to round
    it would write a quantity nobody sent (docs/security.md)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_id(value: Any) -> bool:
    """A Nhanh id: a JSON integer or a short non-empty string."""
    return (isinstance(value, str) and 0 < len(value) <= 64) or is_whole(value)


def entries(data: Any, field: str, problems: Problems, *,
            keyed: bool = True) -> list[tuple[str, Any]]:
    """``data``'s members with their paths: an object's values (``keyed``) or a list's items."""
    if keyed and isinstance(data, dict):
        return [(f"{field}.{key}", value) for key, value in data.items()]
    if isinstance(data, list):
        return [(f"{field}[{i}]", value) for i, value in enumerate(data)]
    problems.add(field, "must be an object keyed by id or a list" if keyed else "must be a list")
    return []


def bounded_entries(data: Any, problems: Problems, *, most: int, noun: str,
                    keyed: bool = True) -> list[tuple[str, Any]]:
    """``data``'s members (``entries`` of the field ``data``), at least one and at most
    ``most``: more is one problem and no members (nothing of the delivery is taken), none is
    one problem. ``noun`` names a member in the messages (``product``, ``order id``)."""
    members = entries(data, "data", problems, keyed=keyed)
    if len(members) > most:
        problems.add("data", f"at most {most} {noun}s per webhook")
        return []
    if not members and (isinstance(data, list) or (keyed and isinstance(data, dict))):
        problems.add("data", f"must hold at least one {noun}")
    return members
