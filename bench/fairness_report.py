"""The fairness benchmark's report: the targets of issue #23, the verdicts and per-shop latency
percentiles the results JSON holds, and the lines it prints (both designs side by side)."""

from __future__ import annotations

import math
from typing import Any

MAX_RATIO = 2.0
"""B's latency behind A's backlog may be at most this many times its latency alone..."""
MAX_BEHIND_SECONDS = 2.0
"""...and under this many seconds."""
MIN_DRAIN_SHARE = 0.95
"""A drains "no slower than today": its items/s in the window at least this share of the
message-per-job design's (a 30 s window holds ~30 writes; one write less is 3 %)."""
PERCENTILES = (50, 90, 99)
LABELS = {"turns": "turns (HOOKYARD_SHOP_TURNS=true)",
          "per-job": "message per job (HOOKYARD_SHOP_TURNS=false, the design before)"}


def nearest_rank(values: list[float], percent: float) -> float:
    """The nearest-rank percentile of ``values`` (``inf`` stands for a shop not done)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency_summary(per_shop: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """p50/p90/p99/max of the shops' latencies; a shop that had not finished when the run
    stopped counts as slower than every finished one, and a percentile that lands on it is
    reported as ``None`` with ``not_done_after_seconds`` (the least any of them had waited)."""
    values = [s["latency_seconds"] if s["done"] else math.inf for s in per_shop.values()]
    waited = [s["waited_seconds"] for s in per_shop.values() if not s["done"]]
    summary: dict[str, Any] = {"shops": len(values), "done": len(values) - len(waited),
                               "not_done_after_seconds": min(waited) if waited else None}
    for name, percent in (*((f"p{p}", p) for p in PERCENTILES), ("max", 100)):
        value = nearest_rank(values, percent) if values else math.nan
        summary[name] = None if math.isinf(value) else value
    return summary


def two_shop_verdict(scenario: dict[str, Any]) -> dict[str, Any]:
    """B behind A against B alone: the ratio and PASS/MISS of "<= 2x and < 2 s"."""
    alone = scenario["b_alone_median_seconds"]
    behind = None if scenario["b_timed_out"] else scenario["b_behind_a_median_seconds"]
    ratio = round(behind / alone, 2) if behind is not None and alone else None
    ok = behind is not None and ratio is not None and ratio <= MAX_RATIO \
        and behind < MAX_BEHIND_SECONDS
    return {"b_alone_seconds": alone, "b_behind_a_seconds": behind, "ratio": ratio,
            "latency_target": "PASS" if ok else "MISS"}


def drain_verdict(turns: dict[str, Any], per_job: dict[str, Any]) -> dict[str, Any]:
    """A's items/s in the window with turns against the message-per-job design's."""
    mine = turns["a_drain"]["items_per_second"]
    theirs = per_job["a_drain"]["items_per_second"]
    share = round(mine / theirs, 3) if theirs else None
    return {"turns_items_per_second": mine, "per_job_items_per_second": theirs,
            "share": share,
            "drain_target": "PASS" if share is not None and share >= MIN_DRAIN_SHARE
            else "MISS"}


def seconds(value: float | None, *, not_done: float | None = None) -> str:
    if value is None:
        return f">{not_done:.1f}" if not_done is not None else "-"
    return f"{value:.3f}"


def print_two_shops(results: dict[str, dict[str, Any]]) -> None:
    print("\nTwo shops on the slow plan (bucket 200, 10 points/s: 1 write of 250 a second)")
    for design, scenario in results.items():
        verdict = scenario["verdict"]
        drain = scenario["a_drain"]
        alone = ", ".join(f"{o['latency_seconds']:.3f}" for o in scenario["b_alone"])
        behind = ", ".join(f"{o['latency_seconds']:.3f} ({o['a_backlog_at_send']})"
                           for o in scenario["b_behind_a"])
        print(f"  {LABELS[design]}")
        print(f"    B alone ({scenario['b_items']} items): {alone} s -> median "
              f"{scenario['b_alone_median_seconds']:.3f} s")
        print(f"    A's {scenario['a_items']} items accepted in "
              f"{scenario['a_flood']['accepted_seconds']:.2f} s; B right behind (A's backlog "
              f"then): {behind or '-'} s")
        if scenario["b_timed_out"]:
            print(f"    B behind A: NOT done after {scenario['b_timeout_seconds']:.0f} s -> MISS")
        else:
            print(f"    B behind A: median {verdict['b_behind_a_seconds']:.3f} s = "
                  f"x{verdict['ratio']} alone -> {verdict['latency_target']} (target <= "
                  f"{MAX_RATIO:g}x and < {MAX_BEHIND_SECONDS:g} s)")
        print(f"    A's drain in the {drain['window_seconds']:.0f} s from its first POST: "
              f"{drain['items']} items = {drain['items_per_second']} items/s, "
              f"{drain['writes']} writes, steady {drain['steady_items_per_second']} items/s "
              f"(a batch every {drain['seconds_between_batches']} s); budget "
              f"{scenario['budget_items_per_second']:.0f} items/s")


def print_many_shops(results: dict[str, dict[str, Any]]) -> None:
    first = next(iter(results.values()))
    big = first["big_shops"]
    who = big[0] if len(big) == 1 else f"{len(big)} shops ({big[0]}...{big[-1]})"
    print(f"\n{first['small_shops'] + len(big)} shops: {who} send(s) "
          f"{first['big_backlog']} items each, then {first['small_shops']} shops "
          f"{first['small_items']} items each over {first['small_sent_over_seconds']:.1f} s")
    print(f"  {'design':<16} {'done':>7} {'p50 s':>8} {'p90 s':>8} {'p99 s':>8} {'max s':>8}  "
          f"backlog: accepted in, items/s (budget "
          f"{first['big_budget_items_per_second']:.0f})")
    for design, scenario in results.items():
        row = scenario["latency"]
        waited = row["not_done_after_seconds"]
        cells = [seconds(row[name], not_done=waited) for name in ("p50", "p90", "p99", "max")]
        big = scenario["big_flood"]
        print(f"  {design:<16} {row['done']:>3}/{row['shops']:<3} "
              + " ".join(f"{c:>8}" for c in cells)
              + f"  {big['accepted_seconds']:.1f} s, {scenario['big_drain']['items_per_second']}")
        if scenario["timed_out"]:
            print(f"    stopped {scenario['timeout_seconds']:.0f} s after the last small webhook: "
                  f"{row['shops'] - row['done']} shops not done (\">x\": waited at least x s); "
                  f"the backlog had {scenario['big_items'] - scenario['big_drain']['items']} "
                  f"items left, ~{scenario['estimated_more_seconds_for_the_rest']} s more at its "
                  f"rate")


def print_worker_logs(results: dict[str, dict[str, Any]]) -> None:
    for design, scenario in results.items():
        counts = scenario.get("worker_log", {}).get("counts", {})
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        said = "; ".join(f"{n} x {message!r}" for message, n in top) or "nothing"
        more = f" (+{len(counts) - 3} other messages)" if len(counts) > 3 else ""
        print(f"  worker log, {design}: {said}{more}")


def print_report(two: dict[str, dict[str, Any]], many: dict[str, dict[str, Any]],
                 drain: dict[str, Any] | None, problems: list[str]) -> None:
    if two:
        print_two_shops(two)
    if drain:
        print(f"  A's drain with turns / message per job: {drain['share']} -> "
              f"{drain['drain_target']} (target >= {MIN_DRAIN_SHARE:g})")
    print_worker_logs(two)
    if many:
        print_many_shops(many)
        print_worker_logs(many)
    print("\ncorrectness: " + ("OK (every ended job's level is in the sandbox)" if not problems
                               else "FAILED" + "".join(f"\n  {p}" for p in problems)))


def problems_of(two: dict[str, dict[str, Any]], many: dict[str, dict[str, Any]]) -> list[str]:
    """Levels the sandbox does not hold and jobs that did not succeed."""
    found = []
    for design, scenario in two.items():
        outcomes = [*scenario["b_alone"], *scenario["b_behind_a"]]
        for outcome in outcomes:
            if outcome["levels_wrong"] or set(outcome["states"]) - {"succeeded"}:
                found.append(f"{design}: shop {outcome['shop']}: {outcome['levels_wrong']} "
                             f"levels wrong, states {outcome['states']}")
        if scenario["a_flood"]["levels_wrong"]:
            found.append(f"{design}: shop A: {scenario['a_flood']['levels_wrong']} levels of "
                         "ended jobs wrong")
    for design, scenario in many.items():
        for shop, row in scenario["per_shop"].items():
            if row["done"] and (row["levels_wrong"] or set(row["states"]) - {"succeeded"}):
                found.append(f"{design}: shop {shop}: {row['levels_wrong']} levels wrong, "
                             f"states {row['states']}")
    return found
