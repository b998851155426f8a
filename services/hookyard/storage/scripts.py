"""Hookyard's Lua scripts, read from the package's ``lua/`` folder when first used, and run
with ``EVALSHA`` on connections kept apart for scripts.

Why not redis-py's ``Script``: every script call went through redis-py's generic command path
(argument re-packing, pool checkout with a readiness probe that costs system calls, and, since
redis-py 6, observability counters on every checkout and release). For the acceptance script,
which carries about 150 arguments per webhook, that path was 16 % of the ingest app's CPU per
webhook (instructions counted by callgrind, docs/performance.md). Here a script call is: take a
connection, pack the command once, send it, read the one reply, give the connection back.

What stays redis-py's: the connection class and its settings (timeouts, TLS, auth, DB, health
checks), the reply parser and its error types, and the connection's retry policy (none for
clients made by ``from_url``, as before). As redis-py's pool does, a kept connection the server
closed meanwhile (a restart) is reconnected before the command is sent, so a restart costs no
failed call. A connection that failed during a call is dropped, never given back, so no reply
can be left unread on a kept connection. Fork safety: a child process never uses the
connections its parent kept.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from functools import cache
from hashlib import sha1
from importlib import resources
from typing import Any

import redis
from redis.exceptions import NoScriptError

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # redis-py without its hiredis extra packs in Python
    _hiredis_pack = None


@cache
def source(name: str) -> str:
    return (resources.files("hookyard.storage") / "lua" / f"{name}.lua").read_text(
        encoding="utf-8")


class ScriptConnections:
    """Connections of one client kept for scripts. A caller takes one for one command and gives
    it back; there are never more than the number of threads that ran scripts at once."""

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._idle: list[redis.Connection] = []  # append and pop are atomic under the GIL
        self._pid = os.getpid()

    def take(self) -> redis.Connection:
        if self._pid != os.getpid():
            # Forked: the sockets belong to the parent. Dropping them closes only our copies
            # (redis-py shuts a socket down only in the process that opened it).
            self._idle = []
            self._pid = os.getpid()
        try:
            connection = self._idle.pop()
        except IndexError:
            return self._pool.connection_class(**self._pool.connection_kwargs)
        # A kept connection has nothing to read unless the server closed it (a restart, a
        # failover): reconnect before sending rather than fail the call (as redis-py's pool does).
        try:
            stale = connection.can_read(timeout=0)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            stale = True
        if stale:
            connection.disconnect()  # the send reconnects
        return connection

    def give_back(self, connection: redis.Connection) -> None:
        self._idle.append(connection)


_connections_by_client: weakref.WeakKeyDictionary[redis.Redis, ScriptConnections] = (
    weakref.WeakKeyDictionary())
_connections_lock = threading.Lock()


def connections_for(client: redis.Redis) -> ScriptConnections:
    """The script connections of ``client``, shared by every script registered on it."""
    found = _connections_by_client.get(client)
    if found is None:
        with _connections_lock:
            found = _connections_by_client.get(client)
            if found is None:
                found = _connections_by_client[client] = ScriptConnections(client)
    return found


class Script:
    """A Lua script bound to a client; calling it runs ``EVALSHA`` (loading the script first
    when the server does not know it, e.g. after a restart)."""

    def __init__(self, client: redis.Redis, name: str, *, text: str | None = None) -> None:
        """``text``: the script itself when it is not ``lua/<name>.lua`` (tests)."""
        self.name = name
        self.source = source(name) if text is None else text
        self.sha = sha1(self.source.encode(), usedforsecurity=False).hexdigest()
        self._connections = connections_for(client)

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        connections = self._connections
        connection = connections.take()
        if _hiredis_pack is not None:
            command = [_hiredis_pack(("EVALSHA", self.sha, len(keys), *keys, *args))]
        else:
            command = connection.pack_command("EVALSHA", self.sha, len(keys), *keys, *args)
        try:
            reply = connection.retry.call_with_retry(
                lambda: self._run(connection, command),
                lambda _error: connection.disconnect())
        except redis.ResponseError:
            connections.give_back(connection)  # an error reply was read whole
            raise
        except BaseException:
            connection.disconnect()
            raise
        connections.give_back(connection)
        return reply

    def _run(self, connection: redis.Connection, command: list[bytes]) -> Any:
        connection.send_packed_command(command)
        try:
            return connection.read_response()
        except NoScriptError:
            connection.send_command("SCRIPT", "LOAD", self.source)
            connection.read_response()
            connection.send_packed_command(command)
            return connection.read_response()


def register(client: redis.Redis, name: str) -> Script:
    """A callable script bound to ``client``; nothing is sent until it is called (EVALSHA)."""
    return Script(client, name)
