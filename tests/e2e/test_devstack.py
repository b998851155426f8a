"""The README's first command: the local stack starts, processes a webhook end to end, and says
in one line which part failed to start, why, and which log to read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def devstack(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    return subprocess.run([sys.executable, "-m", "devstack", *args], cwd=cwd,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_devstack_check_processes_one_webhook_end_to_end_from_its_default_relative_workdir(
        tmp_path):
    result = devstack(tmp_path, "--check")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '"state": "succeeded"' in result.stdout
    assert (tmp_path / ".devstack" / "redis" / "redis.log").exists()


def test_a_redis_that_will_not_start_is_named_with_its_reason_and_log(tmp_path):
    fake = tmp_path / "bin" / "redis-server"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho '*** FATAL CONFIG FILE ERROR: no room on this disk'\n"
                    "exit 1\n")
    fake.chmod(0o755)
    line = failure_line(devstack(tmp_path, "--check",
                                 PATH=f"{fake.parent}{os.pathsep}{os.environ['PATH']}"))
    assert line.startswith("hookyard stack: redis did not start: redis-server exited with 1: ")
    assert "no room on this disk" in line
    log = Path(re.search(r"read (\S+)$", line).group(1))
    assert log == tmp_path / ".devstack" / "redis" / "redis.log"
    assert "no room on this disk" in log.read_text()


def test_a_service_that_will_not_start_is_named_with_its_reason_and_log(tmp_path):
    line = failure_line(devstack(tmp_path, "--check", HOOKYARD_INGEST_THREADS="many"))
    assert line.startswith("hookyard stack: ingest did not start: exited with code ")
    assert "HOOKYARD_INGEST_THREADS" in line
    log = Path(re.search(r"read (\S+)$", line).group(1))
    assert log == tmp_path / ".devstack" / "logs" / "ingest.log"
    assert "HOOKYARD_INGEST_THREADS" in log.read_text()
