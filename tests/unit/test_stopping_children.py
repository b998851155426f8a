"""Stopping children: SIGTERM first, SIGKILL only for a child that will not end in time."""

from __future__ import annotations

import signal
import subprocess
import sys

from devstack.launcher import stop_process, wait_or_kill


def child(code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # the child is running its code (signal handlers set)
    return process


def test_a_child_that_honours_sigterm_ends_with_it() -> None:
    process = child("import time; print('ready', flush=True); time.sleep(60)")

    assert stop_process(process, timeout=10) == -signal.SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    process = child("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                    "print('ready', flush=True); time.sleep(60)")

    assert stop_process(process, timeout=0.5) == -signal.SIGKILL


def test_an_ended_child_is_left_as_it_ended() -> None:
    process = child("print('ready', flush=True)")
    process.wait()

    assert stop_process(process, timeout=1) == 0
    assert wait_or_kill(process, timeout=1) == 0
