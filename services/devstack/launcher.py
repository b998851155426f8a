"""The one way to run a child process of the stack: start it with a log file, wait until it is
ready while checking that it lives, show its log's tail when it is not, stop it, and restart it
under supervision when it exits (as a Deployment's ReplicaSet would).

Every caller that starts gunicorn, a worker, the sandbox or another helper process (the local
stack, the e2e and chaos tests, the benchmarks) uses ``Process`` and ``Supervisor``, so start-up,
readiness and kill behaviour are the same everywhere.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

STOP_TIMEOUT_SECONDS = 15.0
TAIL_CHARS = 3000


def wait_or_kill(process: subprocess.Popen[Any], timeout: float) -> int:
    """Wait up to ``timeout`` seconds for ``process`` to end, then SIGKILL it; its exit code."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def stop_process(process: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM (graceful shutdown), then ``wait_or_kill``; an ended process is left as is."""
    if process.poll() is None:
        process.terminate()
    return wait_or_kill(process, timeout)


def last_log_line(path: Path) -> str:
    """The last non-empty line of a log file, or a note that there is none."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"no log at {path}"
    meaningful = [line.strip() for line in lines if line.strip().strip("*").strip()]
    return meaningful[-1] if meaningful else "the log is empty"


def child_pids(pid: int) -> list[int]:
    """Pids of ``pid``'s children, forked by any of its threads (none if it has ended)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return sorted(children)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers 200 now (any failure to answer is a no)."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


class StartFailure(Exception):
    """A process did not come up: which one, why, and the log that says more.

    ``line()`` is the one line the local stack prints; ``str()`` adds the log's tail, which is
    what a failing test or benchmark wants to show."""

    def __init__(self, part: str, reason: str, log_path: Path | None, tail: str = "") -> None:
        super().__init__(part, reason, log_path)
        self.part, self.reason, self.log_path, self.tail = part, reason, log_path, tail

    def line(self) -> str:
        where = f"; read {self.log_path}" if self.log_path else ""
        return f"{self.part} did not start: {self.reason}{where}"

    def __str__(self) -> str:
        return self.line() + (f"\n--- the end of its log:\n{self.tail}" if self.tail else "")


class Process:
    """One child process whose output (stdout and stderr) is appended to ``<log_dir>/<name>.log``.

    ``own_session`` starts it in a session of its own, so a Ctrl-C meant for the caller's process
    group does not reach it (the caller stops it in its own order)."""

    def __init__(self, name: str, command: list[str], *, log_dir: Path,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 own_session: bool = False) -> None:
        self.name, self.command = name, command
        self.env = dict(env) if env is not None else None
        self.cwd, self.own_session = cwd, own_session
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exits: list[int] = []
        self._log_offset = 0

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=self.own_session)
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.alive and self.process else None

    def children(self) -> list[int]:
        """Pids of the process's own children (gunicorn's workers, say); none once it ended."""
        return child_pids(self.process.pid) if self.process is not None else []

    def output(self) -> str:
        """What this run (since the last ``start``) wrote to the log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, chars: int = TAIL_CHARS) -> str:
        return self.output()[-chars:]

    def exit_reason(self) -> str | None:
        """Why the process ended (its code and its log's last line), or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        return (f"exited with code {self.process.returncode}: "
                f"{last_log_line(self.log_path)[:300]}")

    def wait_ready(self, probe: Callable[[], bool], timeout: float, what: str = "ready") -> None:
        """Poll ``probe`` until it is true; ``StartFailure`` (with the log's tail) if the process
        exits first or ``timeout`` seconds pass. ``what`` says what was awaited."""
        deadline = time.monotonic() + timeout
        while not probe():
            reason = self.exit_reason()
            if reason is not None:
                raise StartFailure(self.name, reason, self.log_path, self.tail())
            if time.monotonic() > deadline:
                raise StartFailure(self.name, f"not {what} within {timeout:g} s", self.log_path,
                                   self.tail())
            time.sleep(0.05)

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """``wait_ready`` on ``url`` answering 200."""
        self.wait_ready(lambda: http_ok(url), timeout, f"answering 200 at {url}")

    def signal(self, signum: int) -> bool:
        """Send ``signum`` if the process runs; whether it did."""
        if not self.alive or self.process is None:
            return False
        self.process.send_signal(signum)
        return True

    def kill(self) -> None:
        """SIGKILL and reap (a stopped process is resumed first, so it can die)."""
        if self.alive and self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit code (None if never run)."""
        if self.process is None:
            return None
        return stop_process(self.process, timeout)


class Supervisor:
    """Restarts the processes it watches when they exit, from a thread of its own.

    A process is started again ``restart_delay`` seconds after it exited, growing with each
    exit up to ``max_restart_delay`` (Kubernetes' crash-loop back-off, shortened).
    ``on_restart(process, exit_code)`` is told about each restart before it happens. ``stop``
    ends the watching, then sends SIGTERM to every process at once and waits for each."""

    def __init__(self, processes: Iterable[Process], *, restart_delay: float = 0.5,
                 max_restart_delay: float | None = None,
                 on_restart: Callable[[Process, int], None] | None = None,
                 poll_seconds: float = 0.2) -> None:
        self.processes = list(processes)
        self.restart_delay, self.on_restart, self.poll_seconds = (restart_delay, on_restart,
                                                                   poll_seconds)
        self.max_restart_delay = restart_delay if max_restart_delay is None else \
            max_restart_delay
        self.lock = threading.Lock()
        """Held while a restart happens; hold it to act on the processes without racing one."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        for process in self.processes:
            if not process.alive:
                process.start()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            with self.lock:
                for process in self.processes:
                    code = process.process.poll() if process.process else None
                    if code is None or self._stopping.is_set():
                        continue
                    process.exits.append(code)
                    if self.on_restart is not None:
                        self.on_restart(process, code)
                    time.sleep(min(self.restart_delay * len(process.exits),
                                   self.max_restart_delay))
                    process.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for process in self.processes:
            process.signal(signal.SIGTERM)
        for process in self.processes:
            process.stop(timeout)
