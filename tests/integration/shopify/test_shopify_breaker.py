"""The shared circuit breaker against the real Shopify sandbox and the session's real Redis.

Waits are short (probes after 0.2 s) and every assertion is about order and counts: the calls
the sandbox saw, the state stored in Redis, the waits stored there (computed on Redis' clock),
never how long something took on the wall clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from hookyard.base import keys, metrics
from hookyard.base.errors import (
    ShopifyError,
    ShopifyRejected,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from hookyard.shopify import operations as ops
from hookyard.shopify.breaker import PROBE_JITTER, Admission, CircuitBreaker, Outcome
from hookyard.shopify.client import ShopifyClient
from hookyard_sandbox.client import SandboxClient

FAST = {"probe_seconds": 0.2, "probe_max_seconds": 0.8}


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def calls(sandbox: SandboxClient, shop: str) -> int:
    return int(sandbox.stats(shop)["calls"])


def redis_now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def wait_for_probe(breaker: CircuitBreaker, client: redis.Redis) -> None:
    """Sleep until the open breaker's probe is due by Redis' clock (the breaker's)."""
    state = breaker.state()
    assert state.state == "open" and state.next_probe_ms is not None
    time.sleep(max(0, state.next_probe_ms - redis_now_ms(client)) / 1000 + 0.02)


def fail(client: ShopifyClient) -> None:
    with pytest.raises(ShopifyError) as caught:
        ops.list_themes(client)
    assert type(caught.value) is ShopifyError


def themes(client: ShopifyClient) -> list[str]:
    return [t["name"] for t in ops.list_themes(client)]


def fail_calls(sandbox: SandboxClient, client: ShopifyClient, shop: str, count: int) -> None:
    """``count`` calls in a row that the sandbox answers 503."""
    sandbox.set_faults(shop, fail_next=count, fail_status=503)
    for _ in range(count):
        fail(client)


def test_consecutive_server_errors_open_the_breaker_and_no_call_is_made_while_open(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("down")
    breaker = make_breaker("down", failures=3, probe_seconds=30, probe_max_seconds=60)
    client = make_client(seed, breaker=breaker)
    opened = sample("hookyard_shopify_breaker_transitions_total", shop="down", to="open")
    rejected = sample("hookyard_shopify_breaker_rejected_calls_total", shop="down")
    sandbox.set_faults("down", fail_next=3, fail_status=503)
    for counted in (1, 2):
        fail(client)
        state = breaker.state()
        assert (state.state, state.consecutive_failures) == ("closed", counted)
    fail(client)  # the third in a row
    state = breaker.state()
    assert (state.state, state.consecutive_failures) == ("open", 3)
    assert state.since_ms is not None and state.next_probe_ms is not None
    assert 30_000 * (1 - PROBE_JITTER) <= state.next_probe_ms - state.since_ms <= 30_000
    assert calls(sandbox, "down") == 3

    for _ in range(5):
        with pytest.raises(ShopifyUnavailable) as caught:
            ops.list_themes(client)
        assert 0 < caught.value.retry_after_seconds <= 30
        assert caught.value.retryable and caught.value.upstream == "shopify"
    assert calls(sandbox, "down") == 3  # not one more
    assert sample("hookyard_shopify_breaker_rejected_calls_total", shop="down") - rejected == 5
    assert sample("hookyard_shopify_breaker_transitions_total", shop="down",
                  to="open") - opened == 1


def test_a_success_while_closed_starts_the_count_again(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("flaky")
    breaker = make_breaker("flaky", failures=2)
    client = make_client(seed, breaker=breaker)
    for _ in range(3):  # failure, success, failure, success, ...: never two in a row
        fail_calls(sandbox, client, "flaky", 1)
        assert breaker.state().consecutive_failures == 1
        assert themes(client) == ["Dawn"]
        assert breaker.state().consecutive_failures == 0
    assert breaker.state().state == "closed"


def test_a_successful_probe_closes_the_breaker_and_calls_flow_again(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient,
    state_redis: redis.Redis,
) -> None:
    seed, _ = new_shop("back")
    breaker = make_breaker("back", failures=2, **FAST)
    client = make_client(seed, breaker=breaker)
    before = {to: sample("hookyard_shopify_breaker_transitions_total", shop="back", to=to)
              for to in ("open", "half_open", "closed")}
    fail_calls(sandbox, client, "back", 2)
    opened_at = breaker.state().since_ms
    wait_for_probe(breaker, state_redis)

    assert themes(client) == ["Dawn"]  # the probe
    state = breaker.state()
    assert (state.state, state.consecutive_failures, state.next_probe_ms) == ("closed", 0, None)
    assert state.since_ms is not None and opened_at is not None and state.since_ms >= opened_at
    for _ in range(3):
        assert themes(client) == ["Dawn"]
    assert calls(sandbox, "back") == 2 + 1 + 3
    moved = {to: sample("hookyard_shopify_breaker_transitions_total", shop="back", to=to)
             - before[to] for to in before}
    assert moved == {"open": 1, "half_open": 1, "closed": 1}


def test_a_failed_probe_reopens_with_the_wait_doubled_up_to_the_cap(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient,
    state_redis: redis.Redis,
) -> None:
    seed, _ = new_shop("outage")
    breaker = make_breaker("outage", failures=1, **FAST)  # 0.2, 0.4, 0.8, 0.8 s
    client = make_client(seed, breaker=breaker)
    sandbox.set_faults("outage", fail_next=100, fail_status=502)
    fail(client)
    waits = []
    for probe in range(4):
        state = breaker.state()
        assert state.state == "open"
        assert state.next_probe_ms is not None and state.since_ms is not None
        waits.append(state.next_probe_ms - state.since_ms)
        with pytest.raises(ShopifyUnavailable):  # before the wait is over: no call
            ops.list_themes(client)
        wait_for_probe(breaker, state_redis)
        fail(client)  # the probe, failing
        assert calls(sandbox, "outage") == 1 + probe + 1
    nominal = [200, 400, 800, 800]
    for wait, expected in zip(waits, nominal, strict=True):
        assert expected * (1 - PROBE_JITTER) - 1 <= wait <= expected
    assert breaker.state().consecutive_failures == 5


def test_exactly_one_probe_goes_out_when_many_threads_of_two_replicas_ask_at_once(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient,
    state_redis: redis.Redis,
) -> None:
    seed, _ = new_shop("herd")
    replicas = [make_breaker("herd", failures=1, **FAST) for _ in range(2)]
    clients = [make_client(seed, breaker=replicas[i % 2]) for i in range(8)]
    fail_calls(sandbox, clients[0], "herd", 1)
    wait_for_probe(replicas[0], state_redis)
    sandbox.set_faults("herd", latency_ms=1500)  # the probe stays out while the others ask
    start = threading.Barrier(len(clients))
    results: list[str] = []

    def call(client: ShopifyClient) -> None:
        start.wait()
        try:
            ops.list_themes(client)
            results.append("called")
        except ShopifyUnavailable as exc:
            assert 0 < exc.retry_after_seconds <= 15  # the probe's lease
            results.append("denied")

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["called"] + ["denied"] * 7
    assert calls(sandbox, "herd") == 1 + 1
    assert replicas[1].state().state == "closed"


def test_a_breaker_admits_one_probe_across_replicas_until_it_reports_or_its_lease_lapses(
    make_breaker: Any, state_redis: redis.Redis
) -> None:
    replicas = [make_breaker("lease", failures=1, probe_seconds=0.2, probe_max_seconds=0.2,
                             probe_lease_seconds=0.5) for _ in range(2)]
    first = replicas[0].admit()
    assert first.admitted and first.probe is None  # closed
    assert replicas[0].record(first, Outcome.FAILED) == "open"
    wait_for_probe(replicas[0], state_redis)

    start = threading.Barrier(16)
    admissions = []

    def ask(breaker: CircuitBreaker) -> None:
        start.wait()
        admissions.append(breaker.admit())

    threads = [threading.Thread(target=ask, args=(replicas[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    probes = [a for a in admissions if a.admitted]
    assert len(admissions) == 16 and len(probes) == 1 and probes[0].probe is not None
    assert all(0 < a.retry_after_seconds <= 0.5 for a in admissions if not a.admitted)
    state = replicas[1].state()
    assert state.state == "half_open" and state.next_probe_ms is not None

    # The probe's worker dies: nothing reports; once its lease lapses the next caller probes.
    time.sleep(max(0, state.next_probe_ms - redis_now_ms(state_redis)) / 1000 + 0.02)
    second = replicas[1].admit()
    assert second.admitted and second.probe not in (None, probes[0].probe)
    assert not replicas[0].admit().admitted
    # The dead probe's late word counts for nothing; the live probe's does.
    assert replicas[0].record(probes[0], Outcome.ANSWERED) == "half_open"
    assert replicas[1].record(second, Outcome.ANSWERED) == "closed"
    assert all(r.admit() == Admission(True) for r in replicas * 3)  # closed: everyone calls


def test_a_probe_that_ends_before_its_call_frees_the_next_caller_to_probe(
    make_breaker: Any, state_redis: redis.Redis
) -> None:
    breaker = make_breaker("released", failures=1, **FAST)
    breaker.record(breaker.admit(), Outcome.FAILED)
    wait_for_probe(breaker, state_redis)
    probe = breaker.admit()
    assert probe.probe is not None and not breaker.admit().admitted
    breaker.release(probe)
    again = breaker.admit()
    assert again.admitted and again.probe is not None
    assert breaker.state().state == "half_open"


def test_calls_that_started_before_the_breaker_opened_do_not_move_it(
    make_breaker: Any, state_redis: redis.Redis
) -> None:
    breaker = make_breaker("late", failures=1, **FAST)
    slow = breaker.admit()  # a call admitted while closed, answering after the breaker opened
    breaker.record(breaker.admit(), Outcome.FAILED)
    assert breaker.record(slow, Outcome.ANSWERED) == "open"
    wait_for_probe(breaker, state_redis)
    probe = breaker.admit()
    assert breaker.record(slow, Outcome.FAILED) == "half_open"
    assert breaker.record(probe, Outcome.ANSWERED) == "closed"


def test_throttles_count_neither_as_failures_nor_as_successes(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("busy")
    breaker = make_breaker("busy", failures=2, **FAST)
    # The first throttle asks for longer than the call may wait; the second call's wait (its
    # 429's drain leaves our bucket empty: ~0.5 s to afford it) fits with seconds to spare.
    client = make_client(seed, breaker=breaker, max_throttle_wait_seconds=3.0)
    fail_calls(sandbox, client, "busy", 1)
    sandbox.set_faults("busy", throttle_next=1, retry_after_seconds=5)
    with pytest.raises(ShopifyThrottled):
        ops.list_themes(client)
    state = breaker.state()
    assert (state.state, state.consecutive_failures) == ("closed", 1)  # not reset, not counted
    sandbox.set_faults("busy", throttle_next=1, retry_after_seconds=0.05, fail_next=1)
    fail(client)  # a 429 waited out inside the call, then a 503: the second failure in a row
    assert breaker.state().state == "open"


def test_a_rejection_is_shopify_answering_and_never_opens_the_breaker(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient
) -> None:
    seed, _ = new_shop("strict")
    breaker = make_breaker("strict", failures=2)
    client = make_client(seed, breaker=breaker)
    wrong_token = make_client({**seed, "token": "shpat_revoked"}, breaker=breaker)
    for _ in range(3):
        fail_calls(sandbox, client, "strict", 1)
        with pytest.raises(ShopifyRejected) as caught:  # 401
            ops.list_themes(wrong_token)
        assert caught.value.details["http_status"] == 401
        assert breaker.state().consecutive_failures == 0
        with pytest.raises(ShopifyRejected):  # a GraphQL error: MAX_COST_EXCEEDED
            client.execute("{ productVariants(first: 250) { edges { node { id product { id } "
                           "inventoryItem { id inventoryLevel(locationId: \"gid://shopify/"
                           "Location/1\") { id } } } } } }", estimated_cost=10)
    assert breaker.state().state == "closed"


@pytest.mark.parametrize("probe_answer", ["throttled", "rejected"])
def test_a_probe_that_shopify_throttles_or_rejects_closes_the_breaker(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient,
    state_redis: redis.Redis, probe_answer: str,
) -> None:
    seed, _ = new_shop("upish")
    breaker = make_breaker("upish", failures=1, **FAST)
    client = make_client(seed, breaker=breaker, max_throttle_wait_seconds=1.0)
    fail_calls(sandbox, client, "upish", 1)
    wait_for_probe(breaker, state_redis)
    if probe_answer == "throttled":
        sandbox.set_faults("upish", throttle_next=1, retry_after_seconds=2)
        with pytest.raises(ShopifyThrottled):
            ops.list_themes(client)
    else:
        with pytest.raises(ShopifyRejected):
            ops.list_themes(make_client({**seed, "token": "shpat_revoked"}, breaker=breaker))
    assert breaker.state().state == "closed"
    assert themes(client) == ["Dawn"]


def test_one_shops_open_breaker_does_not_touch_another_shop(
    new_shop: Any, make_client: Any, make_breaker: Any, sandbox: SandboxClient,
    state_redis: redis.Redis,
) -> None:
    down_seed, _ = new_shop("down")
    up_seed, _ = new_shop("up")
    down = make_client(down_seed, breaker=make_breaker("down", failures=2, probe_seconds=30,
                                                       probe_max_seconds=30))
    up = make_client(up_seed, breaker=make_breaker("up", failures=2))
    fail_calls(sandbox, down, "down", 2)
    with pytest.raises(ShopifyUnavailable):
        ops.list_themes(down)
    for _ in range(3):
        assert themes(up) == ["Dawn"]
    assert calls(sandbox, "up") == 3
    assert make_breaker("up").state().state == "closed"
    assert make_breaker("down").state().state == "open"


def test_breaker_state_is_one_hash_per_shop_in_the_state_db(
    make_breaker: Callable[..., CircuitBreaker], state_redis: redis.Redis
) -> None:
    breaker = make_breaker("keyed", failures=1)
    assert breaker.state().since_ms is None  # never called: closed since nobody knows when
    breaker.record(breaker.admit(), Outcome.FAILED)
    key = keys.shopify_breaker("keyed")
    assert key == "hy:breaker:keyed"
    stored = {k.decode(): v.decode() for k, v in state_redis.hgetall(key).items()}
    assert stored["state"] == "open" and stored["failures"] == "1"
    assert state_redis.ttl(key) == -1  # kept: an open breaker must not expire
