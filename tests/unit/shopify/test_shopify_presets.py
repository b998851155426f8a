"""Plan presets of the shared budget (shopify.dev: 100/200/1000/2000 points/s)."""

from __future__ import annotations

import pytest

from hookyard.base.shops import PLANS
from hookyard.shopify.budget import PLAN_PRESETS, plan_preset


@pytest.mark.parametrize(
    ("plan", "rate"),
    [("standard", 100), ("advanced", 200), ("plus", 1000), ("enterprise", 2000)],
)
def test_each_plan_restores_its_documented_points_per_second(plan: str, rate: int) -> None:
    preset = plan_preset(plan)
    assert preset.restore_rate == rate
    assert preset.capacity == 20 * rate


def test_every_plan_settings_accept_has_a_preset() -> None:
    assert set(PLAN_PRESETS) == set(PLANS)


def test_an_unknown_plan_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(ValueError, match="standard"):
        plan_preset("basic")


def test_the_largest_single_query_fits_in_every_preset_bucket() -> None:
    assert all(p.capacity >= 1000 for p in PLAN_PRESETS.values())
