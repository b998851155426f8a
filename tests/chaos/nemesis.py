"""The nemesis: seeded faults injected while the senders send (worker SIGKILLs every few
seconds; at fixed fractions of the webhooks sent, a worker SIGTERM, a gunicorn worker SIGKILL,
a Redis SIGKILL and restart, a Redis SIGSTOP, sandbox 429 and 5xx bursts, and the poison
jobs). It records what it did in the ledger, and the Redis outages as send times."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.chaos.config import ChaosConfig
from tests.chaos.ledger import Ledger, Poison
from tests.chaos.senders import submit_poison
from tests.chaos.stack import ChaosStack

MIN_KILLS = 3  # periodic worker SIGKILLs, even when the sending is over sooner


class Nemesis:
    """Seeded faults: periodic worker SIGKILLs while sending, and one-off faults triggered at
    fixed fractions of the webhooks sent (so they land mid-run whatever the speed)."""

    def __init__(self, stack: ChaosStack, ledger: Ledger, config: ChaosConfig,
                 rng: random.Random) -> None:
        self.stack = stack
        self.ledger = ledger
        self.config = config
        self.rng = rng
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)
        poison = [Poison(job_id=f"00000000-poison-{i:04d}-{rng.getrandbits(32):08x}")
                  for i in range(config.poison)]
        for p in poison:
            ledger.poison[p.job_id] = p
        self.one_offs: list[tuple[float, str, Callable[[], None]]] = sorted([
            *((0.05 + 0.3 * i, f"poison job {p.job_id}", self._poison(p))
              for i, p in enumerate(poison)),
            *(() if not config.faults else (
                (0.12, "sandbox 429 burst", lambda: self._sandbox(throttle_next=8,
                                                                  retry_after_seconds=0.5)),
                (0.20, "SIGKILL a gunicorn worker", self._kill_gunicorn_worker),
                (0.30, "SIGKILL Redis, restart it", self._kill_redis),
                (0.42, "sandbox 5xx burst (503)", lambda: self._sandbox(fail_next=3,
                                                                        fail_status=503)),
                (0.52, "SIGSTOP Redis for 3 s", self._pause_redis),
                (0.64, "SIGTERM a worker", self._term_worker),
                (0.74, "sandbox 429 burst", lambda: self._sandbox(throttle_next=8,
                                                                  retry_after_seconds=1)),
                (0.84, "sandbox 5xx burst (502)", lambda: self._sandbox(fail_next=3,
                                                                        fail_status=502)),
            )),
        ], key=lambda item: item[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _progress(self) -> float:
        return self.ledger.sent / max(1, self.config.webhooks)

    def _run(self) -> None:
        pending = list(self.one_offs)
        low, high = self.config.kill_every_seconds
        next_kill = time.monotonic() + self.rng.uniform(low, high)
        while not self._stop.is_set():
            while pending and self._progress() >= pending[0][0]:
                _, name, action = pending.pop(0)
                self.ledger.event(f"nemesis: {name}")
                try:
                    action()
                except Exception as exc:
                    self.ledger.event(f"nemesis: {name} failed: {exc!r}")
            kills_wanted = self._progress() < 1 or self.counts["worker_sigkill"] < MIN_KILLS
            if self.config.faults and time.monotonic() >= next_kill and kills_wanted:
                self._kill_worker()
                next_kill = time.monotonic() + self.rng.uniform(low, high)
            self._stop.wait(0.05)
        for _, name, action in pending:  # never skip a fault: a fast run still gets them all
            self.ledger.event(f"nemesis (late): {name}")
            action()

    def _poison(self, poison: Poison) -> Callable[[], None]:
        def submit() -> None:
            threading.Thread(target=submit_poison, args=(self.stack, self.ledger, poison),
                             daemon=True).start()
            self.counts["poison_submitted"] += 1
        return submit

    def _kill_worker(self) -> None:
        self._signal_worker(signal.SIGKILL, "worker_sigkill")

    def _term_worker(self) -> None:
        self._signal_worker(signal.SIGTERM, "worker_sigterm")

    def _signal_worker(self, signum: signal.Signals, count: str) -> None:
        """Send ``signum`` to a running worker the seeded rng picks; counted as ``count``."""
        supervisor = self.stack.supervisor
        assert supervisor is not None
        with supervisor.lock:
            victim = self.rng.choice([w for w in self.stack.workers if w.pid is not None])
            if victim.signal(signum):
                self.counts[count] += 1
                self.ledger.event(f"nemesis: {signum.name} {victim.name}")

    def _kill_gunicorn_worker(self) -> None:
        assert self.stack.ingest is not None and self.stack.ingest.pid is not None
        children = self.stack.ingest.children()
        if children:
            os.kill(self.rng.choice(children), signal.SIGKILL)
            self.counts["gunicorn_worker_sigkill"] += 1

    def _kill_redis(self) -> None:
        started = self.ledger.now()
        self.stack.redis.kill()
        self.counts["redis_sigkill"] += 1
        time.sleep(1.0)
        self.stack.redis.start(timeout=60)
        self.ledger.event("nemesis: Redis is back")
        self.ledger.redis_outages.append((started, self.ledger.now()))

    def _pause_redis(self) -> None:
        process = self.stack.redis.process
        assert process is not None
        started = self.ledger.now()
        process.send_signal(signal.SIGSTOP)
        self.counts["redis_sigstop"] += 1
        time.sleep(3.0)
        process.send_signal(signal.SIGCONT)
        self.ledger.redis_outages.append((started, self.ledger.now()))

    def _sandbox(self, **faults: Any) -> None:
        self.stack.sandbox.set_faults("acme", **faults)
        kind = "sandbox_429_burst" if "throttle_next" in faults else "sandbox_5xx_burst"
        self.counts[kind] += 1
