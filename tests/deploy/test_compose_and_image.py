"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine needed)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from deploy_support import REPO, WORKER_KINDS, check_contract_command, run

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
HOOKYARD_SERVICES = {"ingest", *WORKER_KINDS.values(), "sandbox", "nhanh-sandbox"}
BUILD_TOOLS = (
    "gcc",
    "g++",
    "build-essential",
    "make",
    "cmake",
    "clang",
    "git",
    "-dev ",
    "python3-dev",
    "libc6-dev",
    "pip wheel",
    "setup.py",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification(check_jsonschema) -> None:
    run([check_jsonschema, "--builtin-schema", "vendor.compose-spec", COMPOSE])


def test_compose_runs_the_whole_stack(compose) -> None:
    assert set(compose["services"]) == HOOKYARD_SERVICES | {
        "redis",
        "redis-exporter",
        "prometheus",
        "grafana",
    }


def test_hookyard_services_share_one_image_and_differ_in_command_replicas_resources(
    compose,
) -> None:
    services = {name: compose["services"][name] for name in HOOKYARD_SERVICES}
    images = {s["image"] for s in services.values()}
    builds = {repr(s.get("build")) for s in services.values()}
    assert len(images) == 1 and len(builds) == 1
    assert next(iter(services.values()))["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    commands = [tuple(s["command"]) for s in services.values()]
    assert len(set(commands)) == len(commands)
    common = ("image", "build", "read_only", "tmpfs", "cap_drop", "security_opt", "volumes")
    first = next(iter(services.values()))
    for name, service in services.items():
        for key in common:
            assert service[key] == first[key], f"{name}.{key} differs"
        assert "replicas" in service["deploy"] and "resources" in service["deploy"], name


def test_compose_commands_are_ones_the_image_provides(compose) -> None:
    for name in HOOKYARD_SERVICES:
        check_contract_command(compose["services"][name]["command"])
    workers = {compose["services"][c]["command"][2] for c in WORKER_KINDS.values()}
    assert workers == {f"workers.{c.replace('-', '_')}" for c in WORKER_KINDS.values()}


def test_every_compose_service_has_a_healthcheck(compose) -> None:
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_compose_redis_keeps_an_append_only_file_and_never_evicts(compose) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7-alpine"
    command = redis["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert pairs["--hash-max-listpack-value"] == "1024"  # job records stay compact


def test_compose_worker_stop_grace_exceeds_their_shutdown_timeout(compose) -> None:
    for component in WORKER_KINDS.values():
        service = compose["services"][component]
        grace = int(service["stop_grace_period"].removesuffix("s"))
        assert grace > int(service["environment"]["HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS"])


def test_compose_mounts_exist_and_reuse_the_charts_dashboards_and_alerts(compose) -> None:
    mounted = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{source} does not exist"
                mounted.append(source)
    assert "./helm/hookyard/files/dashboards" in mounted
    assert "./helm/hookyard/files/alerts.yaml" in mounted


def test_compose_prometheus_scrapes_every_service_with_the_charts_job_names() -> None:
    config = yaml.safe_load((REPO / "deploy" / "compose" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["hookyard-ingest"]["dns_sd_configs"][0]["names"] == ["ingest"]
    assert jobs["hookyard-ingest"]["dns_sd_configs"][0]["port"] == 8080
    worker_sd = jobs["hookyard-worker"]["dns_sd_configs"][0]
    assert sorted(worker_sd["names"]) == sorted(WORKER_KINDS.values())
    assert worker_sd["port"] == 9191
    assert {"source_labels": ["__meta_dns_name"], "target_label": "worker"} in jobs[
        "hookyard-worker"
    ]["relabel_configs"]


def test_compose_prometheus_config_is_accepted_by_promtool(tools, tmp_path) -> None:
    # The config's rule_files point inside the container; check it with them mapped to the repo.
    config = yaml.safe_load((REPO / "deploy" / "compose" / "prometheus.yml").read_text())
    config["rule_files"] = [str(REPO / "helm" / "hookyard" / "files" / "alerts.yaml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    run([tools.promtool, "check", "config", path])


# --- Dockerfile ---------------------------------------------------------------------------------


def _stages(text: str) -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped) grouped by FROM."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [
        ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_installs_the_locked_versions_in_a_builder_stage_on_python_311_slim() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11[.0-9]*-slim", text, re.M)
    stages = _stages(text)
    assert len(stages) >= 2
    builder = " ".join(stages[0])
    assert "AS builder" in stages[0][0]
    assert "COPY pyproject.toml uv.lock" in builder
    assert re.search(r"uv sync --frozen --no-editable", builder)
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^UV_VERSION := (\S+)", makefile, re.M).group(1) == \
        re.search(r"^ARG UV_VERSION=(\S+)", text, re.M).group(1), "one uv version everywhere"


def test_the_production_image_leaves_the_sandbox_extra_out_and_compose_adds_it() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r'^ARG EXTRAS=""$', text, re.M)
    compose = yaml.safe_load(COMPOSE.read_text())
    build = compose["services"]["sandbox"]["build"]
    assert build["args"]["EXTRAS"] == "sandbox"
    pyproject = (REPO / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "graphql-core" not in dependencies
    assert re.search(r'^sandbox = \["graphql-core', pyproject, re.M)


def test_dockerfile_pins_a_python_patch_level_without_the_tarfile_header_flaw() -> None:
    """tarfile parses PAX headers quadratically before 3.11.10 (CVE-2024-6232): the base image
    names a patch level at or above it, not the moving ``3.11`` tag."""
    match = re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.(\d+)-slim-bookworm$",
                      DOCKERFILE.read_text(), re.M)
    assert match, "pin the base image to python:3.11.<patch>-slim-bookworm"
    assert int(match.group(1)) >= 10


def test_dockerfile_final_stage_is_non_root_without_build_tools() -> None:
    final = _stages(DOCKERFILE.read_text())[-1]
    users = [ln.split(None, 1)[1] for ln in final if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] == "10001"
    for line in final:
        if line.upper().startswith("RUN "):
            for tool in BUILD_TOOLS:
                assert tool not in line + " ", f"final stage installs or runs {tool!r}: {line}"
    assert any(ln.startswith("COPY --from=builder") for ln in final)
    env = " ".join(ln for ln in final if ln.upper().startswith("ENV "))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env


def test_dockerfile_default_command_is_ingest_and_healthcheck_is_explained() -> None:
    text = DOCKERFILE.read_text()
    final = _stages(text)[-1]
    cmd = next(ln for ln in final if ln.startswith("CMD "))
    assert cmd == 'CMD ["gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest.app:get_app()"]'
    check_contract_command(
        ["gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest.app:get_app()"]
    )
    has_healthcheck = any(ln.startswith("HEALTHCHECK ") for ln in final)
    assert has_healthcheck or "No HEALTHCHECK instruction, on purpose" in text


def test_dockerignore_keeps_the_build_context_to_the_package() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*")] == "*"
    for needed in ("!pyproject.toml", "!README.md", "!services/"):
        assert needed in lines
    copies = [
        ln.split()[1:-1] for ln in _stages(DOCKERFILE.read_text())[0] if ln.startswith("COPY ")
    ]
    for source in [s for sources in copies for s in sources]:
        assert f"!{source}" in lines or f"!{source}/" in lines, (
            f"{source} is excluded by .dockerignore"
        )


def test_image_packages_include_every_service_module() -> None:
    """pyproject finds packages under services/, which holds every command's package."""
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'where\s*=\s*\["services"\]', pyproject)
    for package in ("hookyard", "ingest", "workers"):
        assert (REPO / "services" / package).is_dir(), package
