"""Where the chaos run lives in the repository, and the one place that makes the test helper
modules of ``tests/`` and ``tests/e2e`` (``nhanh_payloads``, ``platform_support``,
``sandbox_process``, ``crashing_worker``) importable.

Importing this module puts both folders at the front of ``sys.path``; a chaos module that
imports one of those helpers imports this module first. (Until ``tests/`` is a package.)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
for _path in (TESTS, TESTS / "e2e"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
