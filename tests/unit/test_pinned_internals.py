"""The private parts of redis-py, Dramatiq and prometheus-client that Hookyard builds on.

``hookyard/consumer.py`` subclasses Dramatiq's private ``_RedisConsumer`` (its docstring and
``DRAMATIQ_PRIVATE_NAMES`` list what it uses), ``hookyard/broker.py`` pipelines Dramatiq's
dispatch script, ``hookyard/scripts.py``
drives redis-py connections by hand and ``hookyard/metrics.py`` reads the default registry's
collectors. They were written against the versions in ``uv.lock``. An upgrade that removes or
renames one of these fails here, naming it, before it can fail in production.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers import redis as dramatiq_redis
from prometheus_client import REGISTRY

from hookyard.jobs.consumer import DRAMATIQ_PRIVATE_NAMES

CONSUMER_MEMBERS = DRAMATIQ_PRIVATE_NAMES["consumer"]
BROKER_ATTRIBUTES = ("scripts", "namespace", "broker_id", "heartbeat_timeout",
                     "dead_message_ttl", "consumer_class")
BROKER_METHODS = ("_should_do_maintenance", "_max_unpack_size", "emit_before", "emit_after",
                  *DRAMATIQ_PRIVATE_NAMES["broker"])
CONNECTION_METHODS = ("can_read", "pack_command", "send_packed_command", "send_command",
                      "read_response", "disconnect")


DISTRIBUTIONS = {"dramatiq": "dramatiq", "redis": "redis",
                 "prometheus_client": "prometheus-client"}


def advice(package: Any, name: str, user: str) -> str:
    installed = version(DISTRIBUTIONS[package.__name__])
    return (f"{package.__name__} {installed} has no {name}, which {user} relies on: read "
            f"{user} against the new version before changing uv.lock")


@pytest.fixture(scope="module")
def broker() -> dramatiq_redis.RedisBroker:
    # redis-py connects lazily: nothing here touches the network.
    return dramatiq_redis.RedisBroker(client=redis.Redis(port=1), namespace="pinned-check")


def test_dramatiq_s_private_redis_consumer_is_still_there() -> None:
    assert hasattr(dramatiq_redis, "_RedisConsumer"), advice(
        dramatiq, "dramatiq.brokers.redis._RedisConsumer", "hookyard/consumer.py")
    parameters = list(inspect.signature(dramatiq_redis._RedisConsumer.__init__).parameters)
    assert parameters == ["self", "broker", "queue_name", "prefetch", "timeout"], advice(
        dramatiq, "_RedisConsumer(broker, queue_name, prefetch, timeout)",
        "hookyard/consumer.py")


@pytest.mark.parametrize("name", CONSUMER_MEMBERS)
def test_the_consumer_members_hookyard_uses_exist(broker, name: str) -> None:
    consumer = dramatiq_redis._RedisConsumer(broker, "pinned", 4, 1000)
    assert hasattr(consumer, name), advice(dramatiq, f"_RedisConsumer.{name}",
                                           "hookyard/consumer.py (WakeableConsumer)")


@pytest.mark.parametrize("name", (*BROKER_ATTRIBUTES, *BROKER_METHODS))
def test_the_redis_broker_members_hookyard_uses_exist(broker, name: str) -> None:
    assert hasattr(broker, name), advice(dramatiq, f"RedisBroker.{name}",
                                         "hookyard/broker.py (HookyardBroker)")


def test_the_dispatch_script_hookyard_pipelines_is_still_registered(broker) -> None:
    assert "dispatch" in broker.scripts, advice(dramatiq, "RedisBroker.scripts['dispatch']",
                                                "hookyard/broker.py (dispatch_on)")


@pytest.mark.parametrize("name", ("compute_backoff", "current_millis", "dq_name"))
def test_dramatiq_s_helpers_hookyard_uses_exist(name: str) -> None:
    assert hasattr(dramatiq.common, name), advice(dramatiq, f"dramatiq.common.{name}",
                                                  "hookyard/broker.py")


@pytest.mark.parametrize("name", (*CONNECTION_METHODS, "retry"))
def test_the_connection_members_the_script_runner_uses_exist(name: str) -> None:
    connection = redis.Redis(port=1).connection_pool.make_connection()
    assert hasattr(connection, name), advice(redis, f"Connection.{name}", "hookyard/scripts.py")


def test_the_pool_still_says_how_to_make_a_connection() -> None:
    pool = redis.Redis(port=1).connection_pool
    for name in ("connection_class", "connection_kwargs"):
        assert hasattr(pool, name), advice(redis, f"ConnectionPool.{name}",
                                           "hookyard/scripts.py")
    assert hasattr(pool.make_connection().retry, "call_with_retry"), advice(
        redis, "Retry.call_with_retry", "hookyard/scripts.py")


def test_the_default_registry_still_lists_its_collectors() -> None:
    import prometheus_client

    assert isinstance(getattr(REGISTRY, "_collector_to_names", None), dict), advice(
        prometheus_client, "CollectorRegistry._collector_to_names", "hookyard/metrics.py")
