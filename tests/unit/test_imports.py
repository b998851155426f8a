"""Importing does nothing: every module imports with an empty environment and no Redis."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
# gunicorn's config file is executed as configuration, reading settings is its job.
CONFIG_MODULES = {"ingest.gunicorn_conf"}
# Actors bind to the installed broker, so their module refuses to load before it (tested below).
NEEDS_BROKER = {"hookyard.actors"}


def all_modules() -> list[str]:
    names = []
    for package in ("hookyard", "ingest", "workers", "hookyard_sandbox", "nhanh_sandbox"):
        names.append(package)
        for info in pkgutil.walk_packages([str(SERVICES / package)], prefix=f"{package}."):
            names.append(info.name)
    return sorted(set(names) - CONFIG_MODULES - NEEDS_BROKER)


def test_every_module_imports_with_an_empty_environment_and_no_redis():
    script = (
        "import importlib, socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('a module opened a socket at import')\n"
        "socket.socket.connect = refuse\n"
        f"for name in {all_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "import dramatiq.broker\n"
        "assert dramatiq.broker.global_broker is None, 'a module installed a broker'\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(SERVICES)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_actors_refuse_to_load_before_the_broker_is_installed():
    script = "import hookyard.actors"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""),
                                 "PYTHONPATH": str(SERVICES)}, timeout=60)
    assert result.returncode != 0
    assert "hookyard.jobs.broker.install" in result.stderr


def test_module_list_is_not_empty():
    assert "hookyard.jobs" in all_modules() and importlib.util.find_spec("hookyard.jobs")
