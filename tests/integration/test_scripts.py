"""Lua scripts run on connections kept for scripts: a call gets its own reply, whatever happened
to the calls before it, in this process or in a forked one."""

from __future__ import annotations

import os
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.redis_server import RedisServer
from hookyard.storage import scripts

ECHO = "return ARGV[1]"


def echo(client: redis.Redis) -> scripts.Script:
    return scripts.Script(client, "echo", text=ECHO)


def test_a_script_the_server_forgot_is_loaded_and_run(live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port)
    script = echo(client)
    assert script(args=["one"]) == b"one"
    client.script_flush()
    assert script(args=["two"]) == b"two"


def test_keys_and_arguments_reach_the_script(live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port)
    script = scripts.Script(client, "concat", text="return KEYS[1] .. ARGV[1] .. ARGV[2]")
    assert script(keys=["k:é"], args=[7, b"\x00bytes"]) == "k:é7".encode() + b"\x00bytes"


def test_an_error_reply_is_raised_and_the_next_call_still_works(
        live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port)
    failing = scripts.Script(client, "fail", text="return redis.error_reply('refused here')")
    with pytest.raises(redis.ResponseError, match="refused here"):
        failing()
    assert echo(client)(args=["after"]) == b"after"


def test_a_call_that_timed_out_leaves_no_reply_behind_for_the_next_call(
        live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    script = echo(client)
    assert script(args=["warm"]) == b"warm"  # one kept connection now
    admin = redis.Redis(port=live_redis.port)
    admin.execute_command("CLIENT", "PAUSE", 1_000, "ALL")
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        script(args=["late"])  # sent; Redis answers it after the pause
    assert time.monotonic() - started < 0.9  # it did not wait for the answer
    time.sleep(max(0.0, started + 1.1 - time.monotonic()))  # the pause is over
    for word in ("first", "second", "third"):
        assert script(args=[word]) == word.encode()


def test_scripts_of_one_client_share_its_connections_across_threads(
        live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port)
    script = echo(client)
    answers: list[bool] = []

    def call_many(name: str) -> None:
        answers.extend(script(args=[f"{name}-{i}"]) == f"{name}-{i}".encode()
                       for i in range(200))

    threads = [threading.Thread(target=call_many, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 800
    assert len(scripts.connections_for(client)._idle) <= 4


def test_a_forked_child_never_uses_its_parents_connections(live_redis: RedisServer) -> None:
    client = redis.Redis(port=live_redis.port)
    script = echo(client)
    assert script(args=["parent"]) == b"parent"
    pid = os.fork()
    if pid == 0:  # the child: a fresh, unconnected connection, then a call of its own
        try:
            fresh = scripts.connections_for(client).take()._sock is None
            ok = fresh and script(args=["child"]) == b"child"
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert script(args=["parent again"]) == b"parent again"  # the child closed nothing of ours


def test_a_restart_of_redis_costs_no_failed_call(live_redis: RedisServer) -> None:
    client = redis.Redis.from_url(live_redis.url(0))  # as the services make them: no retries
    script = echo(client)
    assert script(args=["before"]) == b"before"  # a kept connection to the old process
    live_redis.restart()
    assert script(args=["after"]) == b"after"
