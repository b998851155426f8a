"""Paths, constants and helpers shared by the deployment checks (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "hookyard"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# CI checks out shared/ beside the repository (the contract and the CRD schemas).
SHARED = REPO.parent / "shared"
CRD_SCHEMAS = SHARED / "schemas" / "crds"
RELEASE = "hy"
NAMESPACE = "hookyard"

# The commands the image provides, from the contract (shared/README.md) and the build issue.
CONTRACT_MODULES = {
    "workers.customer_sync",
    "workers.inventory_sync",
    "workers.deploy",
    "hookyard_sandbox",
    "nhanh_sandbox",
    "devstack",
}
INGEST_APP = "ingest.app:get_app()"
INGEST_CONFIG = "python:ingest.gunicorn_conf"
WORKER_KINDS = {
    "customerSync": "customer-sync",
    "inventorySync": "inventory-sync",
    "deploy": "deploy",
}

# Metrics used by dashboards and alerts that Hookyard does not export itself.
EXTERNAL_METRICS = {
    "up",  # Prometheus, per scrape target
    "redis_memory_used_bytes",  # redis_exporter (assumed, not shipped)
    "redis_memory_max_bytes",  # redis_exporter
}


def run(
    args: list[str | Path], *, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False, **kwargs
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(str(a) for a in args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def load_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def objects_of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def command_of(container: dict[str, Any]) -> list[str]:
    """What a container runs: its command + args (the image's entrypoint is tini)."""
    return list(container.get("command", [])) + list(container.get("args", []))


def check_contract_command(argv: list[str]) -> None:
    """Fail unless argv starts one of the services the image provides."""
    if argv[:1] == ["gunicorn"]:
        assert argv[1:] == ["-c", INGEST_CONFIG, INGEST_APP], argv
    elif argv[:2] == ["python", "-m"]:
        assert argv[2] in CONTRACT_MODULES, f"{argv[2]} is not a module the image provides"
    else:
        raise AssertionError(f"unknown command {argv}")
