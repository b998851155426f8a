"""The sync benchmark's report: the targets and the passes they are judged on, the summary and
guards the results JSON holds, and the table and lines it prints."""

from __future__ import annotations

from typing import Any

TARGET_ITEMS_PER_SECOND = 1000.0
TARGET_CUSTOMERS_PER_SECOND = 200.0
COLD_REACTIVE = "cold, reactive"
COLD_PREFILLED = "cold, start-up prefill"
WARM_AGAIN = "warm, right after"
"""A warm inventory pass right after the start-up one: the machine is shared and inventory
passes are bound by CPU, so this is the fair yardstick for the start-up pass."""


def summarise(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Per cache state (warm, cold with the start-up prefill, cold and reactive): items and
    customers per second, their ratio to the seed design and the verdict against the target."""
    by_name = {p["phase"]: p for p in phases}
    seed_inv = by_name["seed design inventory"]["per_second"]
    seed_cust = by_name["seed design customers"]["per_second"]
    summary = {}
    for cache in ("warm", COLD_PREFILLED, COLD_REACTIVE):
        inv = by_name[f"hookyard inventory {cache}"]["per_second"]
        cust = by_name[f"hookyard customers {cache}"]["per_second"]
        summary[cache] = {
            "items_per_second": inv, "customers_per_second": cust,
            "items_ratio_to_seed": round(inv / seed_inv, 1) if seed_inv else None,
            "customers_ratio_to_seed": round(cust / seed_cust, 1) if seed_cust else None,
            "items_target": "PASS" if inv >= TARGET_ITEMS_PER_SECOND else "MISS",
            "customers_target": "PASS" if cust >= TARGET_CUSTOMERS_PER_SECOND else "MISS",
        }
    return summary


def guards_of(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """What must stay zero (or empty) across the run: retries, overruns, throttles, failed and
    timed-out passes."""
    hookyard_phases = [p for p in phases if p["phase"].startswith("hookyard")]
    return {
        "attempts_over_1": sum(p["attempts_over_1"] for p in hookyard_phases),
        "budget_exceeded": sum(p["budget_exceeded"] for p in phases),
        "throttled": sum(p["throttled"] + p["http_429"] for p in phases),
        "failed_jobs": sum(p["states"].get("failed", 0) for p in hookyard_phases),
        "timed_out": [p["phase"] for p in hookyard_phases if p["timed_out"]],
    }


def print_table(phases: list[dict[str, Any]]) -> None:
    columns = [("phase", 41), ("items", 6), ("seconds", 8), ("per_second", 8),
               ("shopify_calls", 6), ("mutations", 6), ("lookups", 6), ("bulk_queries", 5),
               ("bulk_seconds", 6), ("bulk_points", 5), ("points_spent", 7),
               ("throttled", 5), ("http_429", 5), ("attempts_over_1", 6),
               ("budget_exceeded", 6)]
    heads = ["phase", "items", "seconds", "items/s", "calls", "writes", "lookups", "bulk",
             "bulk s", "b.pts", "points", "thr", "429", "att>1", "over"]
    print("  ".join(h.rjust(w) if i else h.ljust(w)
                    for i, (h, (_, w)) in enumerate(zip(heads, columns, strict=True))))
    for phase in phases:
        cells = []
        for i, (key, width) in enumerate(columns):
            value = phase.get(key, "")
            value = "-" if value is None else value
            cells.append(str(value).ljust(width) if i == 0 else str(value).rjust(width))
        print("  ".join(cells))


def describe_prefill(prefill: dict[str, Any]) -> str:
    if not prefill:
        return "not run"
    kinds = "; ".join(
        f"{kind} snapshot " + (f"ready {row['ready_after_worker_start_seconds']}s after its "
                               f"workers were started ({row['rows']} rows, bulk query to swap "
                               f"{row['load_seconds']}s)" if row["ready"]
                               else f"NOT ready ({row['error'] or 'still loading'})")
        for kind, row in prefill["kinds"].items())
    return (f"{kinds}; {prefill['bulk_queries']} bulk queries, {prefill['polls']} polls, "
            f"{prefill['points']} points, {prefill['lookups']} lookups (before the cold passes, "
            f"not in their figures)")


def print_report(phases: list[dict[str, Any]], summary: dict[str, Any], guards: dict[str, Any],
                 prefill: dict[str, Any], verification: dict[str, Any], *,
                 enforce_throttle: bool) -> None:
    """The table of every phase, then the summary, bulk prefills, guards and correctness."""
    hookyard_phases = [p for p in phases if p["phase"].startswith("hookyard")]
    print()
    print_table(phases)
    print()
    for cache, row in summary.items():
        print(f"{cache}: {row['items_per_second']} items/s "
              f"(x{row['items_ratio_to_seed']} seed design; target >= "
              f"{TARGET_ITEMS_PER_SECOND:.0f}: {row['items_target']}), "
              f"{row['customers_per_second']} customers/s (x{row['customers_ratio_to_seed']}; "
              f"target >= {TARGET_CUSTOMERS_PER_SECOND:.0f}: {row['customers_target']})")
    for phase in hookyard_phases:
        bulk = phase["bulk"]
        if bulk["queries"] or bulk["polls"]:
            error = f"; error: {bulk['outcome_error']}" if bulk["outcome_error"] else ""
            print(f"bulk prefill, {phase['phase']}: {bulk['queries']} bulk query, "
                  f"{bulk['polls']} polls, {bulk['points']} points, {bulk['rows']} rows loaded "
                  f"in {bulk['load_seconds']}s (ready {bulk['loaded_after_seconds']}s after the "
                  f"first POST){error}")
    print(f"start-up prefill: {describe_prefill(prefill)}")
    cold_retried = sum(p["attempts_over_1"] for p in hookyard_phases if "cold" in p["phase"])
    print(f"cold passes: jobs with attempts > 1: {cold_retried}")
    print(f"jobs with attempts > 1: {guards['attempts_over_1']}; failed jobs: "
          f"{guards['failed_jobs']}; budget_exceeded: {guards['budget_exceeded']}; "
          f"throttled + 429: {guards['throttled']}"
          f"{' (throttling not enforced)' if not enforce_throttle else ''}")
    print(f"correctness: {'OK' if verification['ok'] else 'FAILED'} {verification['checked']}"
          + "".join(f"\n  {p}" for p in verification["problems"]))
