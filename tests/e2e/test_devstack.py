"""The README's first command: the local stack starts and processes a webhook end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_devstack_check_processes_one_webhook_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    result = subprocess.run(
        [sys.executable, "-m", "hookyard.devstack", "--check", "--workdir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '"state": "succeeded"' in result.stdout
