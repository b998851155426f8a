"""How long a job waits for an unavailable upstream: just past the breaker's next probe while
the shop's breaker is open; a capped backoff otherwise."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hookyard.base.errors import NhanhError, ShopifyError, ShopifyUnavailable
from hookyard.base.settings import Settings
from hookyard.jobs.failures import BREAKER_WAKE_SPREAD_SECONDS, upstream_wait_ms

SETTINGS = replace(Settings.from_env({}), retry_base_seconds=2, breaker_probe_max_seconds=30)


@pytest.mark.parametrize("waits", [1, 5, 50])
def test_an_open_breaker_wakes_the_job_just_after_its_next_probe(waits):
    for _ in range(200):
        wait = upstream_wait_ms(SETTINGS, waits, ShopifyUnavailable("open", retry_after_seconds=7))
        assert 7000 <= wait <= 7000 + BREAKER_WAKE_SPREAD_SECONDS * 1000


@pytest.mark.parametrize("error", [ShopifyError("503"), NhanhError("timeout")])
def test_other_upstream_failures_back_off_up_to_the_longest_probe_interval(error):
    first = [upstream_wait_ms(SETTINGS, 1, error) for _ in range(200)]
    late = [upstream_wait_ms(SETTINGS, 40, error) for _ in range(200)]
    assert all(2000 <= w <= 2500 for w in first)
    assert all(30000 <= w <= 37500 for w in late)
