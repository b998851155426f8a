"""The circuit breaker's probe waits: doubling from the first wait, capped, jittered below."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from hookyard.base.settings import Settings
from hookyard.shopify.breaker import (
    PROBE_JITTER,
    PROBE_LEASE_MARGIN_SECONDS,
    BreakerState,
    probe_delay_seconds,
    probe_schedule_ms,
)


def never() -> float:
    return 0.0


def almost_one() -> float:
    return 1.0 - 1e-12


def test_without_jitter_the_wait_doubles_with_each_failed_probe_up_to_the_cap() -> None:
    waits = [probe_delay_seconds(n, base=5, cap=30, jitter=0.2, draw=never) for n in range(6)]
    assert waits == [5, 10, 20, 30, 30, 30]


def test_jitter_only_shortens_a_wait_and_by_at_most_its_fraction() -> None:
    rng = random.Random(7)
    for failed in range(8):
        nominal = min(30.0, 5.0 * 2**failed)
        for _ in range(200):
            wait = probe_delay_seconds(failed, base=5, cap=30, jitter=PROBE_JITTER,
                                       draw=rng.random)
            assert nominal * (1 - PROBE_JITTER) <= wait <= nominal
    assert probe_delay_seconds(0, base=5, cap=30, jitter=0.2, draw=almost_one) == \
        pytest.approx(4.0)


def test_jitter_spreads_the_waits_of_shops_that_opened_together() -> None:
    rng = random.Random(11)
    waits = {round(probe_delay_seconds(0, base=5, cap=30, jitter=0.2, draw=rng.random), 3)
             for _ in range(50)}
    assert len(waits) > 40


def test_a_long_outage_never_overflows_the_doubling() -> None:
    assert probe_delay_seconds(10_000, base=5, cap=30, jitter=0.2, draw=never) == 30


@pytest.mark.parametrize(("base", "cap", "length"),
                         [(5, 30, 4), (5, 5, 1), (5, 40, 4), (5, 41, 5), (0.2, 1.6, 4),
                          (0.001, 3600, 23)])
def test_the_schedule_holds_one_wait_per_doubling_until_the_cap(
    base: float, cap: float, length: int
) -> None:
    schedule = probe_schedule_ms(base=base, cap=cap, jitter=0.2, draw=never)
    assert len(schedule) == length == 1 + math.ceil(math.log2(cap / base))
    assert schedule[0] == round(base * 1000)
    assert schedule[-1] == round(cap * 1000)
    assert all(b == min(round(cap * 1000), 2 * a) for a, b in itertools.pairwise(schedule))


def test_the_default_settings_probe_after_5_10_20_then_every_30_seconds() -> None:
    settings = Settings.from_env({})
    schedule = probe_schedule_ms(base=settings.breaker_probe_seconds,
                                 cap=settings.breaker_probe_max_seconds, jitter=0.2, draw=never)
    assert schedule == [5000, 10000, 20000, 30000]
    assert settings.breaker_failures == 5
    lease = 2 * settings.shopify_timeout_seconds + PROBE_LEASE_MARGIN_SECONDS
    assert lease == 25  # connect + read timeout of the probe call, and a margin


def test_a_state_shows_iso_times_and_no_next_probe_when_closed() -> None:
    view = BreakerState("open", 1_733_356_800_000, 5, 1_733_356_805_000).view()
    assert view == {"state": "open", "since": "2024-12-05T00:00:00.000+00:00",
                    "consecutive_failures": 5, "next_probe_at": "2024-12-05T00:00:05.000+00:00"}
    assert BreakerState("closed", None, 0, None).view()["next_probe_at"] is None
