"""Hookyard's Lua scripts, read from the package's ``lua/`` folder when first used."""

from __future__ import annotations

from functools import cache
from importlib import resources

import redis
from redis.commands.core import Script


@cache
def source(name: str) -> str:
    return (resources.files("hookyard") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def register(client: redis.Redis, name: str) -> Script:
    """A callable script bound to ``client``; nothing is sent until it is called (EVALSHA)."""
    return client.register_script(source(name))
