"""The job benchmark's report: its targets, the tables and verdicts it prints, and the
machine it ran on."""

from __future__ import annotations

import os
import platform
import statistics
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.jobs_systems import SLEEP_SECONDS, JobSystems

NOOP_RATIO_TARGET = 0.8
SLEEP_UTILISATION_TARGET = 0.9
PICKUP_P99_TARGET_SECONDS = 0.050


def machine() -> dict[str, Any]:
    cpu = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "dramatiq": metadata.version("dramatiq"),
            "redis_py": metadata.version("redis"), "loadavg_start": os.getloadavg()}


def summarise(bench: JobSystems, results: dict[str, Any]) -> dict[str, Any]:
    drains = results["drains"]
    limit = bench.args.processes * bench.threads / SLEEP_SECONDS

    def rates(system: str, kind: str) -> list[float]:
        return [d["jobs_per_second"] for d in drains if d["system"] == system
                and d["kind"] == kind]

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    summary: dict[str, Any] = {"concurrency_limit_jobs_per_second": limit}
    noop_h, noop_d = rates("hookyard", "noop"), rates("dramatiq", "noop")
    # Per round, Hookyard over Dramatiq (adjacent runs), then their mean.
    per_round = [h / d for h, d in zip(noop_h, noop_d, strict=True)]
    summary["noop_ratio_per_round"] = [round(r, 3) for r in per_round]
    summary["noop_ratio"] = round(mean(per_round), 3)
    summary["sleep_utilisation"] = {
        system: round(mean(rates(system, "sleep")) / limit, 3) for system in bench.systems}
    targets = summary["targets"] = {
        "noop_ratio >= 0.8": summary["noop_ratio"] >= NOOP_RATIO_TARGET,
        "sleep_utilisation >= 0.9":
            summary["sleep_utilisation"]["hookyard"] >= SLEEP_UTILISATION_TARGET,
    }
    if results["pickup"]:
        targets["pickup_p99 <= 50 ms"] = \
            results["pickup"]["hookyard"]["p99_ms"] <= PICKUP_P99_TARGET_SECONDS * 1000

    print()
    print(f"{bench.args.processes} processes x {bench.threads} threads, prefetch "
          f"{bench.prefetch}; 50 ms jobs: concurrency limit {limit:.0f} jobs/s")
    print()
    print("| workload | system | jobs/s (each run) | mean | x dramatiq | worker CPU ms/job |"
          " Redis CPU ms/job | Redis cmds/job |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for kind in ("noop", "sleep"):
        reference = mean(rates("dramatiq", kind))
        for system in bench.systems:
            runs = [d for d in drains if d["system"] == system and d["kind"] == kind]
            values = [d["jobs_per_second"] for d in runs]
            if not runs:
                continue
            print(f"| {kind} | {system} | {', '.join(f'{v:.0f}' for v in values)} | "
                  f"{mean(values):.0f} | {mean(values) / reference:.2f} | "
                  f"{mean([d['worker_cpu_ms_per_job'] for d in runs]):.3f} | "
                  f"{mean([d['redis_cpu_ms_per_job'] for d in runs]):.3f} | "
                  f"{mean([d['redis_commands_per_job'] for d in runs]):.1f} |")
    print()
    print("| idle pickup (enqueue -> start) | samples | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for system, p in results["pickup"].items():
        print(f"| {system} | {p['samples']} | {p['p50_ms']} | {p['p99_ms']} | {p['max_ms']} |")
    print()
    print("| per job | round trips | commands sent | inside scripts | commands sent, biggest |")
    print("|---|---:|---:|---:|---|")
    for system, t in results["round_trips"].items():
        top = ", ".join(f"{k} {v}" for k, v in list(t["by_command"].items())[:6])
        print(f"| {system} | {t['round_trips_per_job']} | {t['commands_sent_per_job']} | "
              f"{t['scripted_commands_per_job']} | {top} |")
    print()
    print(f"no-op drain, Hookyard / plain Dramatiq: {summary['noop_ratio']:.3f} per round "
          f"{summary['noop_ratio_per_round']} (target >= {NOOP_RATIO_TARGET})")
    print("50 ms jobs, share of the concurrency limit: " + ", ".join(
        f"{s} {u:.3f}" for s, u in summary["sleep_utilisation"].items())
          + f" (target Hookyard >= {SLEEP_UTILISATION_TARGET})")
    for name, ok in summary["targets"].items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    return summary
