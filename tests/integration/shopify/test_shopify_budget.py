"""The shared Redis budget: its maths against Redis, and processes sharing one shop."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from devstack.redis_server import RedisServer
from hookyard.base import keys
from hookyard.base.errors import ShopifyThrottled
from hookyard.shopify.budget import RateBudget
from hookyard.shopify.cost import ThrottleStatus
from hookyard_sandbox.client import SandboxClient

HAMMER = Path(__file__).with_name("hammer_shop.py")


def test_an_unseen_shop_starts_from_its_plan_preset(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="new", plan="advanced")
    reservation = budget.reserve(100)
    assert reservation.available_after == pytest.approx(4000 - 100, abs=1)
    state = budget.state()
    assert (state.capacity, state.restore_rate, state.in_flight) == (4000, 200, 100)


def test_settling_refunds_the_unused_points(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="refund", plan="standard")
    reservation = budget.reserve(500)
    available = budget.settle(reservation, actual=20)
    assert available == pytest.approx(2000 - 20, abs=2)
    assert budget.state().in_flight == 0


def test_shopifys_throttle_status_is_adopted_minus_other_reservations_in_flight(
    state_redis: redis.Redis,
) -> None:
    budget = RateBudget(state_redis, shop="adopt", plan="standard")
    mine, other = budget.reserve(10), budget.reserve(30)
    status = ThrottleStatus(maximum_available=1000, currently_available=400, restore_rate=50)
    available = budget.settle(mine, actual=10, status=status)
    assert available == pytest.approx(400 - 30, abs=1)
    state = budget.state()
    assert (state.capacity, state.restore_rate, state.in_flight) == (1000, 50, 30)
    budget.settle(other, actual=30)


def test_an_answer_that_settles_late_never_raises_the_bucket_above_what_was_spent(
    state_redis: redis.Redis,
) -> None:
    """Call a's answer was computed before call b reached Shopify, but settles after b's: its
    throttle status does not count b's points, and b's reservation is gone. Adopting it would
    hand b's points out twice (the outage run's catch-up found 22 calls over budget)."""
    budget = RateBudget(state_redis, shop="late-answer", plan="standard")
    budget.settle(budget.reserve(1), status=ThrottleStatus(2000, 100, 100))
    a, b = budget.reserve(10), budget.reserve(10)
    budget.settle(b, actual=10, status=ThrottleStatus(2000, 80, 100))
    available = budget.settle(a, actual=10, status=ThrottleStatus(2000, 90, 100))
    assert available <= 80 + 2  # Shopify's truth after both calls (plus a few ms of restore)


def test_a_short_bucket_waits_for_the_refill_instead_of_failing(
    state_redis: redis.Redis,
) -> None:
    budget = RateBudget(state_redis, shop="short", plan="standard")
    budget.settle(budget.reserve(1), status=ThrottleStatus(2000, 0, 100))
    started = time.monotonic()
    reservation = budget.reserve(30)
    assert 0.25 <= time.monotonic() - started < 1.0
    assert reservation.waited_seconds >= 0.25


def test_a_wait_past_the_deadline_raises_throttled_without_sleeping(
    state_redis: redis.Redis,
) -> None:
    budget = RateBudget(state_redis, shop="late", plan="standard")
    budget.settle(budget.reserve(1), status=ThrottleStatus(2000, 0, 100))
    started = time.monotonic()
    with pytest.raises(ShopifyThrottled) as caught:
        budget.reserve(500, deadline=time.monotonic() + 1.0)
    assert time.monotonic() - started < 0.2
    assert caught.value.retry_after_seconds == pytest.approx(5.0, abs=0.1)


def test_waiting_callers_are_booked_in_the_order_they_asked(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="queue", plan="standard")
    budget.settle(budget.reserve(1), status=ThrottleStatus(2000, 0, 100))
    waits = [budget.try_reserve(10)[1] for _ in range(3)]
    assert waits == pytest.approx([0.1, 0.2, 0.3], abs=0.02)
    assert budget.state().in_flight == 30


def test_a_refused_wait_books_nothing(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="refused", plan="standard")
    budget.settle(budget.reserve(1), status=ThrottleStatus(2000, 0, 100))
    reservation, wait = budget.try_reserve(500, max_wait=1.0)
    assert reservation is None and wait == pytest.approx(5.0, abs=0.05)
    assert budget.state().in_flight == 0
    assert budget.try_reserve(50, max_wait=1.0)[1] == pytest.approx(0.5, abs=0.05)


def test_a_reservation_of_a_dead_process_expires(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="dead", plan="standard",
                        reservation_lease_seconds=0.05)
    budget.reserve(100)  # never settled
    time.sleep(0.1)
    budget.reserve(1)  # any script run drops expired leases
    assert budget.state().in_flight == 1


def test_the_budget_key_comes_from_keys_and_expires(state_redis: redis.Redis) -> None:
    budget = RateBudget(state_redis, shop="ttl", plan="standard", key_ttl_seconds=60)
    budget.reserve(1)
    assert 0 < state_redis.ttl(keys.shopify_budget("ttl")) <= 60


def prime(state_redis: redis.Redis, shop: str, plan: str, available: float,
          capacity: float, rate: float) -> None:
    """Tell the shared budget what the sandbox's bucket holds (as a first answer would)."""
    budget = RateBudget(state_redis, shop=shop, plan=plan)
    budget.settle(budget.reserve(1), status=ThrottleStatus(capacity, available, rate))


def start_hammers(live_redis: RedisServer, seed: dict[str, Any], url: str,
                  processes: int, ready_timeout: float = 60.0) -> list[subprocess.Popen[str]]:
    """Start ``processes`` hammers and wait until each is imported, connected and waiting for
    its deadline (fails loudly with a hammer's stderr when one is not ready in time)."""
    redis_url = live_redis.url(1)
    procs = [
        subprocess.Popen(
            [sys.executable, str(HAMMER), redis_url, seed["id"], seed["plan"], seed["token"],
             url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    give_up = time.monotonic() + ready_timeout
    for proc in procs:
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], max(0.0, give_up - time.monotonic()))
        line = proc.stdout.readline() if readable else ""
        if line.strip() != json.dumps({"ready": True}):
            for other in procs:
                other.kill()
            _, err = proc.communicate()
            raise AssertionError(
                f"hammer not ready within {ready_timeout}s: {line!r} {err[-3000:]}")
    return procs


def finish_hammers(procs: list[subprocess.Popen[str]], deadline: float) -> list[dict[str, Any]]:
    """Hand every hammer the same ``time.monotonic()`` deadline; their summaries."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"deadline": deadline}) + "\n")
        proc.stdin.flush()
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()) + 60)
        assert proc.returncode == 0, err[-3000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    return summaries


@pytest.mark.parametrize("enforce", [True, False], ids=["shopify-throttles", "no-throttle"])
def test_two_processes_sharing_a_budget_never_exceed_it(
    enforce: bool, new_shop: Any, sandbox: SandboxClient, sandbox_process: Any,
    state_redis: redis.Redis, live_redis: RedisServer,
) -> None:
    """Both processes start with an empty bucket, so almost every call is paced by the budget.

    With the sandbox throttling (as Shopify does) nothing may be throttled; with throttling off
    the sandbox counts every call served beyond the bucket, which must stay 0. Either way the
    points spent cannot exceed what the bucket held when it was emptied (0) plus its refill from
    then until the last call returned; the processes are started, and wait, before the bucket is
    emptied, so their start-up time never counts.
    """
    rate = 200.0  # the advanced plan's restore rate, points/s
    seed, _ = new_shop("shared", plan="advanced", skus=4)
    sandbox.set_faults("shared", enforce_throttle=enforce)
    procs = start_hammers(live_redis, seed, sandbox_process.url, processes=2)
    seconds = 3.0
    try:
        emptied = time.monotonic()  # before the sandbox's bucket is set: the bound errs high
        sandbox.set_bucket("shared", 0)
        prime(state_redis, "shared", "advanced", available=0, capacity=4000, rate=rate)
        summaries = finish_hammers(procs, deadline=time.monotonic() + seconds)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    calls = [summary["calls"] for summary in summaries]
    elapsed = max(summary["ended"] for summary in summaries) - emptied
    stats = sandbox.stats("shared")
    context = f"calls={calls} elapsed={elapsed:.2f}s stats={stats}"
    assert stats["budget_exceeded"] == 0, context
    assert stats["throttled"] <= 1, context
    assert stats["served"] == sum(calls), context
    assert min(calls) >= 0.35 * sum(calls), context  # served in turn: neither one starves
    # A call starts only once its requested cost (18) is available and spends its actual (10),
    # so the points spent stay within what the bucket held when emptied (0; its capacity, 4000,
    # cannot bind in 3 s) plus its refill until the last call returned.
    assert stats["points_spent"] <= rate * elapsed, context
    # ~20 calls/s together: pacing must not be wildly cautious either.
    assert stats["points_spent"] >= 0.6 * rate * seconds, context
