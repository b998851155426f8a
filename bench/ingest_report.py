"""The ingest benchmark's report: the targets and their verdicts, the table it prints, and
the machine it ran on."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
THROUGHPUT_RATIO_TARGET = 0.8
P99_TARGET_SECONDS = 0.010


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {name: metadata.version(name) for name in
                ("falcon", "gunicorn", "dramatiq", "prometheus_client")}
    versions["redis_py"] = metadata.version("redis")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                         text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "services"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout.count("\n")
    return {"git_commit": git, "uncommitted_service_files": dirty,
            "cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(), **versions}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    hy, ref = results["hookyard"], results["reference"]
    ratio = (hy["saturation"]["throughput_per_second"]
             / max(ref["saturation"]["throughput_per_second"], 1e-9))
    p99 = hy["fixed_rate_p99_ms"]["median"]
    fixed_complete = all(run["errors"] == 0 and run["ok"] >= int(args.rate * args.duration * 0.99)
                         for run in hy["fixed_rate_repetitions"])
    honest = all(results[t]["saturation"]["jobs_match"]
                 and all(run["jobs_match"] for run in results[t]["fixed_rate_repetitions"])
                 for t in ("hookyard", "reference"))
    targets = {
        "throughput_ratio": {"value": round(ratio, 3), "target": f">= {THROUGHPUT_RATIO_TARGET}",
                             "verdict": verdict(ratio >= THROUGHPUT_RATIO_TARGET)},
        "p99_at_rate_ms": {"value": p99, "judged_on": f"median of {args.repeats} repetitions",
                           "each": hy["fixed_rate_p99_ms"]["each"],
                           "pooled": hy["fixed_rate_p99_ms"]["pooled"],
                           "target": f"<= {P99_TARGET_SECONDS * 1000:g}",
                           "verdict": verdict(p99 <= P99_TARGET_SECONDS * 1000
                                              and fixed_complete)},
        "jobs_in_redis_match": {"value": honest, "verdict": verdict(honest)},
    }

    def row(label: str, values: list[str]) -> str:
        return f"{label:<34}" + "".join(f"{v:>16}" for v in values)

    lines = ["", row("", ["hookyard", "reference"]), "-" * 66]
    for phase, title in (("saturation", "saturation (closed loop)"),
                         ("fixed_rate", f"fixed {args.rate:g}/s (open loop), the median "
                                        f"of {args.repeats} repetitions")):
        h, r = hy[phase], ref[phase]
        lines.append(f"{title}, {args.items} items/webhook, {args.duration:g} s")
        if phase == "fixed_rate":
            lines.append(row("  p99 of each repetition (ms)", [
                "/".join(f"{v:.1f}" for v in who["fixed_rate_p99_ms"]["each"])
                for who in (hy, ref)]))
            lines.append(row("  p99 of all repetitions (ms)", [
                f"{who['fixed_rate_p99_ms']['pooled']:.2f}" for who in (hy, ref)]))
        lines.append(row("  webhooks/s accepted", [f"{h['throughput_per_second']:.0f}",
                                                   f"{r['throughput_per_second']:.0f}"]))
        for q in ("p50", "p99", "p99.9", "max"):
            lines.append(row(f"  latency {q} (ms)", [f"{h['latency_ms'][q]:.2f}",
                                                     f"{r['latency_ms'][q]:.2f}"]))
        lines.append(row("  errors", [str(h["errors"]), str(r["errors"])]))
        lines.append(row("  Redis forks (AOF rewrites)", [str(h["redis_forks"]),
                                                          str(r["redis_forks"])]))
        lines.append(row("  jobs in Redis / expected",
                         [f"{min(h['jobs_in_redis'].values())}/{h['jobs_expected']}",
                          f"{min(r['jobs_in_redis'].values())}/{r['jobs_expected']}"]))
        for who in ("generator", "gunicorn", "redis", "other"):
            lines.append(row(f"  CPU cores used: {who}", [f"{h['cpu_cores'][who]:.2f}",
                                                          f"{r['cpu_cores'][who]:.2f}"]))
        lines.append(row("  busiest gunicorn worker's share",
                         [f"{h['busiest_worker_share']:.0%}", f"{r['busiest_worker_share']:.0%}"]))
        lines.append(row("  gunicorn CPU ms / webhook",
                         [f"{h['cpu_ms_per_webhook']['gunicorn']:.2f}",
                          f"{r['cpu_ms_per_webhook']['gunicorn']:.2f}"]))
    lines.append(row("Redis round trips / webhook", [str(hy["redis_per_webhook"]["round_trips"]),
                                                      str(ref["redis_per_webhook"]["round_trips"])]))
    lines.append(row("  commands / webhook", [
        ",".join(f"{k} {v:g}" for k, v in hy["redis_per_webhook"]["commands"].items()),
        ",".join(f"{k} {v:g}" for k, v in ref["redis_per_webhook"]["commands"].items())]))
    lines.append(row("  commands run inside Lua / webhook",
                     [str(hy["redis_per_webhook"]["commands_inside_lua"]),
                      str(ref["redis_per_webhook"]["commands_inside_lua"])]))
    lines.append("")
    lines.append(f"ingest / reference throughput: {ratio:.2f}  (target >= "
                 f"{THROUGHPUT_RATIO_TARGET})  {targets['throughput_ratio']['verdict']}")
    lines.append(f"ingest p99 at {args.rate:g}/s (median of {args.repeats}): {p99:.2f} ms  "
                 f"(target <= "
                 f"{P99_TARGET_SECONDS * 1000:g} ms, no errors)  "
                 f"{targets['p99_at_rate_ms']['verdict']}")
    lines.append(f"jobs in Redis == accepted x items after every phase: "
                 f"{targets['jobs_in_redis_match']['verdict']}")
    for name in ("hookyard", "reference"):
        phases = [("saturation", results[name]["saturation"])] + [
            (f"fixed_rate #{i + 1}", run)
            for i, run in enumerate(results[name]["fixed_rate_repetitions"])]
        for phase, summary in phases:
            other = summary["cpu_cores"]["other"]
            if other > 0.1:
                lines.append(f"WARNING: other processes used {other:.2f} cores during {name} "
                             f"{phase}: that phase's figures are disturbed; run on an idle "
                             "machine.")
            note = summary.get("jobs_note")
            if note:
                lines.append(f"{name} {phase} jobs: {note}")
            first = summary["first_error"]
            if first:
                lines.append(f"{name} {phase} first error: {first}")
        for line in results[name]["server_log_errors"]:
            lines.append(f"{name} server log: {line[:300]}")
    print("\n".join(lines))
    return targets
