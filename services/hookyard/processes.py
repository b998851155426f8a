"""Stopping a child process: ask it to end, give it time, kill it if it will not.

Used by the local stack, the private ``redis-server`` and the test and benchmark harnesses,
which all start Hookyard's processes as children.
"""

from __future__ import annotations

import subprocess
from typing import Any


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
