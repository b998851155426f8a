"""The job benchmark's ``--memory`` mode: one Hookyard worker's resident memory over many
jobs, the queue kept topped up."""

from __future__ import annotations

import time
from typing import Any

from bench.jobs_systems import HOOKYARD_BROKER_DB, HOOKYARD_STATE_DB, QUEUE, JobSystems
from bench.process_accounting import rss_bytes
from hookyard.base import keys
from hookyard.jobs.records import NewJob

MEMORY_GROWTH_TARGET = 0.10


def run_memory(bench: JobSystems) -> dict[str, Any]:
    args = bench.args
    total, step = args.memory_jobs, args.memory_step
    bench.reset("hookyard")
    totals_key = keys.queue_totals(QUEUE)
    samples: list[dict[str, Any]] = []
    with bench.workers("hookyard", 1) as workers:
        workers.wait_ready()
        workers.go()
        pid = workers.pids()[0]
        samples.append({"jobs": 0, "rss_bytes": rss_bytes(pid)})
        submitted = 0
        next_sample = step
        started = time.monotonic()
        while True:
            done = int(bench.poll[HOOKYARD_STATE_DB].hget(totals_key, "succeeded") or 0)
            if done >= next_sample:
                samples.append({"jobs": done, "rss_bytes": rss_bytes(pid),
                                "seconds": round(time.monotonic() - started, 1)})
                print(f"  {done:7} jobs  RSS {samples[-1]['rss_bytes'] / 2**20:7.1f} MiB",
                      flush=True)
                next_sample += step
                if done >= total:
                    break
            backlog = int(bench.poll[HOOKYARD_BROKER_DB].llen(keys.broker_queue(QUEUE)))
            if submitted < total and backlog < args.memory_backlog:
                count = min(args.batch * 10, total - submitted)
                for start in range(submitted, submitted + count, args.batch):
                    bench.jobs.submit([NewJob(queue=QUEUE, actor="bench_noop", payload={"n": n},
                                              shop="bench", entity=str(n))
                                       for n in range(start, min(total, start + args.batch))])
                submitted += count
            else:
                time.sleep(0.05)
            if time.monotonic() - started > args.drain_timeout * 5:
                raise TimeoutError(f"memory run: only {done} of {total} jobs done")
            workers.check_alive()
    base = next(s for s in samples if s["jobs"] >= step)["rss_bytes"]
    final = samples[-1]["rss_bytes"]
    growth = final / base - 1
    print()
    print(f"RSS after {samples[1]['jobs']} jobs {base / 2**20:.1f} MiB, after "
          f"{samples[-1]['jobs']} jobs {final / 2**20:.1f} MiB: {growth * 100:+.1f} % "
          f"({'PASS' if abs(growth) <= MEMORY_GROWTH_TARGET else 'MISS'} within "
          f"{MEMORY_GROWTH_TARGET * 100:.0f} %)")
    return {"samples": samples, "growth": round(growth, 4),
            "target_met": abs(growth) <= MEMORY_GROWTH_TARGET}
