"""The Helm chart: lints, renders every ci/*-values.yaml, validates what it renders, and refuses
configurations that cannot work."""

from __future__ import annotations

import copy
import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_support import (
    CHART,
    CI_VALUES,
    CRD_SCHEMAS,
    NAMESPACE,
    RELEASE,
    WORKER_KINDS,
    check_contract_command,
    command_of,
    load_documents,
    objects_of,
    pod_specs,
    run,
)

KUBERNETES_VERSION = "1.30.0"
CRD_SCHEMA_FILES = {
    "ScaledObject": "keda.sh_scaledobject_v1alpha1.json",
    "TriggerAuthentication": "keda.sh_triggerauthentication_v1alpha1.json",
    "ServiceMonitor": "monitoring.coreos.com_servicemonitor_v1.json",
    "PodMonitor": "monitoring.coreos.com_podmonitor_v1.json",
    "PrometheusRule": "monitoring.coreos.com_prometheusrule_v1.json",
}
CORE_KINDS = {
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Deployment",
    "StatefulSet",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
}
DEFAULT = CHART / "ci" / "default-values.yaml"
KEDA = CHART / "ci" / "keda-monitoring-values.yaml"
INGRESS = CHART / "ci" / "ingress-existing-secret-values.yaml"
REDIS = CHART / "ci" / "redis-statefulset-values.yaml"
CI_IDS = [p.name for p in CI_VALUES]


def test_the_render_matrix_has_the_four_scenarios() -> None:
    assert {p.name for p in CI_VALUES} == {
        "default-values.yaml",
        "keda-monitoring-values.yaml",
        "ingress-existing-secret-values.yaml",
        "redis-statefulset-values.yaml",
    }


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_helm_lint_strict_passes(tools, values: Path) -> None:
    run([tools.helm, "lint", "--strict", CHART, "-f", values, "--namespace", NAMESPACE])


@pytest.mark.parametrize("values", CI_IDS)
def test_rendered_core_objects_are_valid_kubernetes(rendered, values: str) -> None:
    docs = rendered[values]
    assert docs, "nothing rendered"
    for doc in docs:
        if doc["kind"] in CRD_SCHEMA_FILES:
            continue
        assert doc["kind"] in CORE_KINDS, f"unexpected kind {doc['kind']}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{doc['kind']}/{doc['metadata']['name']}"
            pytest.fail(f"{name} ({values}): {exc.message} at {list(exc.path)}")


def _case_insensitive(pattern: str) -> str:
    """Spell out Go RE2's inline (?i) flag, which ECMAScript and Python reject mid-pattern."""
    head, _, rest = pattern.partition("(?i)")
    out, in_class, escaped = [], False, False
    for char in rest:
        if escaped or in_class or not char.isalpha():
            out.append(char)
        else:
            out.append(f"[{char.lower()}{char.upper()}]")
        escaped = char == "\\" and not escaped
        if not escaped and char in "[]":
            in_class = char == "["
    return head + "".join(out)


def crd_schema(kind: str, tmp_path: Path) -> Path:
    """The shared CRD schema of a kind, usable by check-jsonschema.

    The Prometheus Operator schemas carry Go regexes with an inline (?i) flag
    (partial_response_strategy) that check-jsonschema refuses as an invalid schema; they are
    rewritten to the equivalent explicit character classes in a temporary copy.
    """
    source = CRD_SCHEMAS / CRD_SCHEMA_FILES[kind]
    assert source.is_file(), f"{source} missing: CI must check out shared/ beside the repository"
    text = source.read_text()
    if "(?i)" not in text:
        return source

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    _case_insensitive(v)
                    if k == "pattern" and isinstance(v, str) and "(?i)" in v
                    else fix(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    patched = tmp_path / f"patched-{source.name}"
    patched.write_text(json.dumps(fix(json.loads(text))))
    return patched


def test_case_insensitive_rewrite_matches_what_go_would() -> None:
    pattern = _case_insensitive("^(?i)(abort|warn)?$")
    assert pattern == "^([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])?$"
    assert (
        re.fullmatch(pattern, "Abort")
        and re.fullmatch(pattern, "")
        and not re.fullmatch(pattern, "x")
    )


def test_rendered_custom_resources_match_their_crd_schemas(
    rendered, check_jsonschema, tmp_path
) -> None:
    files: dict[str, list[Path]] = {kind: [] for kind in CRD_SCHEMA_FILES}
    for values, docs in rendered.items():
        for doc in docs:
            if doc["kind"] in CRD_SCHEMA_FILES:
                path = tmp_path / f"{values}-{doc['kind']}-{doc['metadata']['name']}.json"
                path.write_text(json.dumps(doc))
                files[doc["kind"]].append(path)
    for kind, paths in files.items():
        assert paths, f"no ci values file renders a {kind}"
        run([check_jsonschema, "--schemafile", crd_schema(kind, tmp_path), *paths])


def test_the_crd_schema_check_catches_a_bad_object(check_jsonschema, rendered, tmp_path) -> None:
    scaled = copy.deepcopy(objects_of(rendered["keda-monitoring-values.yaml"], "ScaledObject")[0])
    scaled["spec"]["triggers"][0]["metadta"] = scaled["spec"]["triggers"][0].pop("metadata")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scaled))
    schema = crd_schema("ScaledObject", tmp_path)
    assert run([check_jsonschema, "--schemafile", schema, path], check=False).returncode != 0


# --- values.schema.json ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "complaint"),
    [
        ({"workers.customerSync.replcas": "2"}, "replcas"),
        ({"workers.customerSync.replicas": "-1"}, "replicas"),
        ({"ingest.replicas": "-3"}, "replicas"),
        ({"kedaa.enabled": "true"}, "kedaa"),
        ({"workers.billing.replicas": "1"}, "billing"),
        ({"containerSecurityContext.readOnlyRootFilesystem": "false"}, "readOnlyRootFilesystem"),
        ({"config.HOOKYARD_REDIS_URL": "redis://x:6379/0"}, "HOOKYARD_REDIS_URL"),
        ({"config.LOG_LEVEL": "INFO"}, "LOG_LEVEL"),
        ({"image.pullPolicy": "Sometimes"}, "pullPolicy"),
        ({"ingest.redis.password": "x"}, "password"),
        ({"workers.deploy.redis.existingSecret": "Not_A_Name"}, "existingSecret"),
    ],
    ids=[
        "misspelt-key",
        "negative-worker-replicas",
        "negative-ingest-replicas",
        "unknown-top-key",
        "unknown-worker",
        "writable-root",
        "secret-in-configmap",
        "unprefixed-setting",
        "bad-enum",
        "unknown-service-redis-key",
        "bad-service-secret-name",
    ],
)
def test_the_values_schema_rejects_bad_values(helm_template, sets, complaint) -> None:
    result = helm_template(DEFAULT, sets=sets, check=False)
    assert result.returncode != 0, f"{sets} was accepted"
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert complaint in result.stderr, result.stderr


def _object_schemas(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{path}/{index}")
    return found


# Kubernetes objects handed to the pod spec as they are (the API server validates them).
PASSTHROUGH = {"#/properties/affinity/additionalProperties"}


def test_every_object_in_the_values_schema_is_closed() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    objects = _object_schemas(schema)
    assert len(objects) > 30
    for path, node in objects:
        if path in PASSTHROUGH:
            continue
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} is open"
        else:
            # A free-form map (labels, annotations, config): its values are typed instead.
            assert isinstance(node.get("additionalProperties"), dict), f"{path} is an untyped map"


def test_default_values_define_every_worker_kind() -> None:
    """The defaults (validated by every render) name exactly the contract's worker kinds."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values["workers"]) == set(WORKER_KINDS)


def test_config_keys_are_real_non_secret_settings(rendered) -> None:
    from hookyard.base.settings import SPECS

    known = {spec.env: spec for spec in SPECS}
    for path in [CHART / "values.yaml", *CI_VALUES]:
        config = (yaml.safe_load(path.read_text()) or {}).get("config", {})
        for name in config:
            assert name in known, f"{path.name}: config.{name} is not a Hookyard setting"
            assert not known[name].secret, f"{path.name}: {name} is a secret; use secrets"
    for docs in rendered.values():
        for doc in objects_of(docs, "Deployment"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env", []):
                    if env["name"].startswith("HOOKYARD_"):
                        assert env["name"] in known, f"{env['name']} is not a Hookyard setting"


# --- refusing configurations that cannot work ---------------------------------------------------


@pytest.mark.parametrize("kind", sorted(WORKER_KINDS))
@pytest.mark.parametrize("grace", ["30", "10"], ids=["equal", "shorter"])
def test_render_fails_when_grace_period_does_not_exceed_shutdown_timeout(
    helm_template, kind, grace
) -> None:
    result = helm_template(
        DEFAULT,
        sets={
            f"workers.{kind}.shutdownTimeoutSeconds": "30",
            f"workers.{kind}.terminationGracePeriodSeconds": grace,
        },
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"workers.{kind}.terminationGracePeriodSeconds ({grace}) must be greater than"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("values", "sets", "message"),
    [
        (None, {}, "secrets.redisUrl is required"),
        (DEFAULT, {"keda.enabled": "true"}, "keda.enabled needs keda.redis.address"),
        (
            DEFAULT,
            {"keda.enabled": "true", "keda.redis.address": "r:6379"},
            "keda.redis.authentication needs secrets.redisPassword",
        ),
        (
            REDIS,
            {"secrets.redisPassword": ""},
            "redis.enabled with redis.auth needs secrets.redisPassword",
        ),
        (
            DEFAULT,
            {"config.HOOKYARD_STATE_REDIS_DB": "0"},
            "must differ from keda.redis.databaseIndex",
        ),
    ],
    ids=[
        "no-redis",
        "keda-without-address",
        "keda-without-password",
        "redis-without-password",
        "state-db-equals-broker-db",
    ],
)
def test_render_fails_with_a_message_naming_the_value_to_fix(
    helm_template, values, sets, message
) -> None:
    result = helm_template(*([values] if values else []), sets=sets, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


# --- what is rendered -----------------------------------------------------------------------------


@pytest.mark.parametrize("values", CI_IDS)
def test_every_worker_kind_is_rendered_from_the_map_with_its_command(rendered, values) -> None:
    deployments = {d["metadata"]["name"]: d for d in objects_of(rendered[values], "Deployment")}
    for key, component in WORKER_KINDS.items():
        deployment = deployments[f"{RELEASE}-hookyard-{component}"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == component
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        argv = command_of(container)
        assert argv == ["python", "-m", f"workers.{component.replace('-', '_')}"]
        check_contract_command(argv)
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert {
            "HOOKYARD_WORKER_THREADS",
            "HOOKYARD_WORKER_PREFETCH",
            "HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS",
        } <= set(env)
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > int(env["HOOKYARD_WORKER_SHUTDOWN_TIMEOUT_SECONDS"]), key
    ingest = deployments[f"{RELEASE}-hookyard-ingest"]
    check_contract_command(command_of(ingest["spec"]["template"]["spec"]["containers"][0]))
    assert len(deployments) == 1 + len(WORKER_KINDS)


def test_worker_objects_come_from_one_template_ranging_over_the_map() -> None:
    templates = CHART / "templates"
    for path in templates.glob("*.yaml"):
        text = path.read_text()
        for component in WORKER_KINDS.values():
            if component == "deploy":
                continue
            assert component not in text, f"{path.name} names the worker {component}"
    assert "range $key, $worker := .Values.workers" in (templates / "workers.yaml").read_text()


@pytest.mark.parametrize("values", CI_IDS)
def test_keda_and_hpa_never_both_scale_one_workload(rendered, values) -> None:
    docs = rendered[values]
    targets: dict[str, list[str]] = {}
    for doc in objects_of(docs, "ScaledObject") + objects_of(docs, "HorizontalPodAutoscaler"):
        targets.setdefault(doc["spec"]["scaleTargetRef"]["name"], []).append(doc["kind"])
    for name, kinds in targets.items():
        assert len(kinds) == 1, f"{name} is scaled by {kinds}"
    for doc in objects_of(docs, "Deployment"):
        if doc["metadata"]["name"] in targets:
            assert "replicas" not in doc["spec"], (
                f"{doc['metadata']['name']} pins replicas and autoscales"
            )


def test_keda_scales_every_worker_on_its_dramatiq_list(rendered) -> None:
    docs = rendered["keda-monitoring-values.yaml"]
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in objects_of(docs, "ScaledObject")}
    assert set(scaled) == {f"{RELEASE}-hookyard-{c}" for c in WORKER_KINDS.values()}
    (auth,) = objects_of(docs, "TriggerAuthentication")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": f"{RELEASE}-hookyard", "key": "REDIS_PASSWORD"}
    ]
    for component in WORKER_KINDS.values():
        (trigger,) = scaled[f"{RELEASE}-hookyard-{component}"]["spec"]["triggers"]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == f"dramatiq:{component}"
        assert trigger["metadata"]["databaseIndex"] == "0"
        assert trigger["metadata"]["address"] == "redis.example.internal:6379"
        assert int(trigger["metadata"]["listLength"]) > 0
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert not [
        h
        for h in objects_of(docs, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] in scaled
    ]


def test_cpu_hpa_is_rendered_for_autoscaled_workers_without_keda(rendered) -> None:
    docs = rendered["ingress-existing-secret-values.yaml"]
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in objects_of(docs, "HorizontalPodAutoscaler")
    }
    assert set(hpas) == {f"{RELEASE}-hookyard-inventory-sync"}
    assert not objects_of(docs, "ScaledObject")


@pytest.mark.parametrize("values", CI_IDS)
def test_every_pod_runs_under_the_restricted_pod_security_standard(rendered, values) -> None:
    specs = list(pod_specs(rendered[values]))
    assert specs
    for name, spec in specs:
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, name
        assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        mounts_tmp = False
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert not sc["capabilities"].get("add"), name
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", name
            assert container["resources"].get("requests"), f"{name} has no resource requests"
            mounts_tmp |= any(m["mountPath"] == "/tmp" for m in container.get("volumeMounts", []))
        assert mounts_tmp, f"{name} has no writable /tmp"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"], name
        if "hookyard" in name and "redis" not in name:
            assert pod_sc["runAsUser"] == 10001, name


@pytest.mark.parametrize("values", CI_IDS)
def test_labels_carry_a_component_and_selectors_only_stable_labels(rendered, values) -> None:
    for doc in rendered[values]:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "hookyard"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/component"], doc["metadata"]["name"]
        if doc["kind"] in ("Deployment", "StatefulSet"):
            selector = doc["spec"]["selector"]["matchLabels"]
            assert set(selector) == {
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
            }
            template_labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= template_labels.items()


def test_every_named_template_is_called_hookyard_something() -> None:
    defines = []
    for path in (CHART / "templates").iterdir():
        defines += re.findall(r'define\s+"([^"]+)"', path.read_text())
    assert defines
    assert [d for d in defines if not d.startswith("hookyard.")] == []
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert 'define "hookyard.labels"' in helpers and 'define "hookyard.selectorLabels"' in helpers


def test_no_template_is_gated_on_cluster_capabilities() -> None:
    """Optional objects appear because values say so, never vanish because a CRD is absent."""
    for path in (CHART / "templates").iterdir():
        assert ".Capabilities.APIVersions" not in path.read_text(), path.name


def test_ingress_buffers_requests_and_limits_bodies_to_max_body_bytes(rendered) -> None:
    docs = rendered["ingress-existing-secret-values.yaml"]
    ingress, deploys = sorted(objects_of(docs, "Ingress"), key=lambda o: o["metadata"]["name"])
    assert deploys["metadata"]["name"].endswith("-deploys")
    [rule] = deploys["spec"]["rules"][:1]
    assert [p["path"] for p in rule["http"]["paths"]] == ["/deploys"]
    assert deploys["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] \
        == "20971520"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "2097152"
    ingest = next(
        d for d in objects_of(docs, "Deployment") if d["metadata"]["name"].endswith("-ingest")
    )
    env = {
        e["name"]: e.get("value")
        for e in ingest["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["HOOKYARD_MAX_BODY_BYTES"] == "2097152"


def test_existing_secret_is_used_and_no_secret_is_created(rendered) -> None:
    docs = rendered["ingress-existing-secret-values.yaml"]
    assert not objects_of(docs, "Secret")
    for _, spec in pod_specs(docs):
        refs = [
            e["secretRef"]["name"] for e in spec["containers"][0]["envFrom"] if "secretRef" in e
        ]
        assert refs == ["hookyard-prod"]


def test_chart_created_secret_holds_the_settings_as_environment_variables(rendered) -> None:
    (secret,) = objects_of(rendered["keda-monitoring-values.yaml"], "Secret")
    assert set(secret["stringData"]) == {
        "HOOKYARD_REDIS_URL",
        "HOOKYARD_NHANH_TOKENS",
        "HOOKYARD_API_TOKENS",
        "HOOKYARD_SHOPS",
        "REDIS_PASSWORD",
        "SHOPIFY_TOKEN_ACME",
    }


def _redis_url_env(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return [e for e in container.get("env", []) if e["name"] == "HOOKYARD_REDIS_URL"]


def test_each_service_can_have_redis_credentials_of_its_own(rendered) -> None:
    """A service with redis.existingSecret gets HOOKYARD_REDIS_URL from that Secret (an env entry
    beats the shared Secret loaded by envFrom); one without keeps the shared URL."""
    deployments = {d["metadata"]["name"].removeprefix(f"{RELEASE}-hookyard-"): d
                   for d in objects_of(rendered["ingress-existing-secret-values.yaml"],
                                       "Deployment")}
    own = {name: _redis_url_env(d) for name, d in deployments.items()}
    assert own == {
        "ingest": [{"name": "HOOKYARD_REDIS_URL", "valueFrom": {"secretKeyRef": {
            "name": "hookyard-redis-ingest", "key": "url"}}}],
        "deploy": [{"name": "HOOKYARD_REDIS_URL", "valueFrom": {"secretKeyRef": {
            "name": "hookyard-redis-worker", "key": "url"}}}],
        "inventory-sync": [{"name": "HOOKYARD_REDIS_URL", "valueFrom": {"secretKeyRef": {
            "name": "hookyard-redis-worker", "key": "url"}}}],
        "customer-sync": [],
    }
    for deployment in deployments.values():  # the shared Secret stays the fallback
        envfrom = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": "hookyard-prod"}} in envfrom
    for values in ("default-values.yaml", "keda-monitoring-values.yaml"):
        assert not any(_redis_url_env(d) for d in objects_of(rendered[values], "Deployment"))


OWN_REDIS = {"ingest.redis.existingSecret": "redis-ingest",
             **{f"workers.{kind}.redis.existingSecret": "redis-worker" for kind in WORKER_KINDS}}


def test_no_shared_redis_url_is_needed_when_every_service_has_its_own(helm_template) -> None:
    docs = load_documents(helm_template(sets={**OWN_REDIS, "secrets.nhanhTokens": "t"}).stdout)
    (secret,) = objects_of(docs, "Secret")
    assert "HOOKYARD_REDIS_URL" not in secret["stringData"]
    assert all(_redis_url_env(d) for d in objects_of(docs, "Deployment"))

    one_short = {**OWN_REDIS, "workers.deploy.redis.existingSecret": ""}
    result = helm_template(sets=one_short, check=False)
    assert result.returncode != 0 and "secrets.redisUrl is required" in result.stderr


def test_keda_can_read_queue_lengths_as_its_own_redis_user(helm_template) -> None:
    docs = load_documents(helm_template(KEDA, sets={"keda.redis.usernameKey": "REDIS_USERNAME"}
                                        ).stdout)
    (auth,) = objects_of(docs, "TriggerAuthentication")
    refs = {r["parameter"]: r for r in auth["spec"]["secretTargetRef"]}
    assert refs["username"] == {"parameter": "username", "name": f"{RELEASE}-hookyard",
                                "key": "REDIS_USERNAME"}
    assert refs["password"]["key"] == "REDIS_PASSWORD"
    (default_auth,) = objects_of(load_documents(helm_template(KEDA).stdout),
                                 "TriggerAuthentication")
    assert [r["parameter"] for r in default_auth["spec"]["secretTargetRef"]] == ["password"]


def test_keda_can_scale_on_hookyards_own_count_of_waiting_jobs(helm_template) -> None:
    """With turns a shop's pending sync jobs share one message, so the list length counts shops;
    hookyard_queue_waiting counts jobs."""
    docs = load_documents(helm_template(KEDA, sets={
        "keda.prometheus.serverAddress": "http://prometheus-operated.monitoring:9090"}).stdout)
    for scaled in objects_of(docs, "ScaledObject"):
        (trigger,) = scaled["spec"]["triggers"]
        component = scaled["spec"]["scaleTargetRef"]["name"].removeprefix(f"{RELEASE}-hookyard-")
        assert trigger["type"] == "prometheus"
        assert trigger["metadata"]["serverAddress"] == "http://prometheus-operated.monitoring:9090"
        assert trigger["metadata"]["query"] == (
            f'max(hookyard_queue_waiting{{namespace="{NAMESPACE}",queue="{component}"}})')
        assert int(trigger["metadata"]["threshold"]) > 0


def test_bundled_redis_keeps_an_append_only_file_and_never_evicts(rendered) -> None:
    docs = rendered["redis-statefulset-values.yaml"]
    (statefulset,) = objects_of(docs, "StatefulSet")
    args = statefulset["spec"]["template"]["spec"]["containers"][0]["args"]
    pairs = dict(zip(args[1::2], args[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert pairs["--hash-max-listpack-value"] == "1024"
    assert pairs["--requirepass"] == "$(REDIS_PASSWORD)"
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    (secret,) = objects_of(docs, "Secret")
    assert (
        secret["stringData"]["HOOKYARD_REDIS_URL"]
        == f"redis://:try-it-out@{RELEASE}-hookyard-redis:6379/0"
    )
    (scaled, *_) = objects_of(docs, "ScaledObject")
    assert scaled["spec"]["triggers"][0]["metadata"]["address"] == f"{RELEASE}-hookyard-redis:6379"


def test_monitoring_objects_use_the_job_names_the_alerts_expect(rendered) -> None:
    docs = rendered["keda-monitoring-values.yaml"]
    (service_monitor,) = objects_of(docs, "ServiceMonitor")
    (pod_monitor,) = objects_of(docs, "PodMonitor")
    (endpoint,) = service_monitor["spec"]["endpoints"]
    assert {"targetLabel": "job", "replacement": "hookyard-ingest"} in endpoint["relabelings"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    (pod_endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    assert {"targetLabel": "job", "replacement": "hookyard-worker"} in pod_endpoint["relabelings"]
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
        "targetLabel": "worker",
    } in pod_endpoint["relabelings"]
    (expression,) = pod_monitor["spec"]["selector"]["matchExpressions"]
    assert sorted(expression["values"]) == sorted(WORKER_KINDS.values())
    assert service_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_prometheus_rule_carries_the_alert_file_with_the_configured_runbook_url(rendered) -> None:
    (rule,) = objects_of(rendered["keda-monitoring-values.yaml"], "PrometheusRule")
    source = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    assert [g["name"] for g in rule["spec"]["groups"]] == [g["name"] for g in source["groups"]]
    rendered_alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    source_alerts = [r for g in source["groups"] for r in g["rules"]]
    assert [r["alert"] for r in rendered_alerts] == [r["alert"] for r in source_alerts]
    for rendered_rule, source_rule in zip(rendered_alerts, source_alerts, strict=True):
        assert rendered_rule["expr"] == source_rule["expr"]
        assert rendered_rule["annotations"]["runbook_url"].startswith(
            "https://git.example.com/hookyard/-/blob/main/docs/operations.md#"
        )


def test_dashboards_are_configmaps_for_the_grafana_sidecar(rendered) -> None:
    maps = [
        c
        for c in objects_of(rendered["keda-monitoring-values.yaml"], "ConfigMap")
        if "-dashboard-" in c["metadata"]["name"]
    ]
    files = sorted(p.name for p in (CHART / "files" / "dashboards").glob("*.json"))
    assert sorted(k for c in maps for k in c["data"]) == files
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        for text in config_map["data"].values():
            json.loads(text)


def test_dashboard_label_is_configurable(helm_template) -> None:
    docs = load_documents(
        helm_template(
            DEFAULT,
            sets={
                "dashboards.enabled": "true",
                "dashboards.label": "grafana_dashboard_hookyard",
                "dashboards.labelValue": "yes",
            },
        ).stdout
    )
    maps = [c for c in objects_of(docs, "ConfigMap") if "-dashboard-" in c["metadata"]["name"]]
    assert maps and all(
        c["metadata"]["labels"]["grafana_dashboard_hookyard"] == "yes" for c in maps
    )


@pytest.mark.parametrize("values", [DEFAULT, KEDA, INGRESS, REDIS], ids=lambda p: p.name)
def test_notes_say_how_to_reach_ingest_and_scale_a_worker(helm_template, tmp_path, values) -> None:
    # helm template does not print NOTES.txt: render it through a ConfigMap in a copy of the chart.
    chart = tmp_path / "hookyard"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "notes-under-test.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
        '  notes: {{ include "hookyard/templates/NOTES.txt" . | quote }}\n'
    )
    docs = load_documents(helm_template(values, chart=chart).stdout)
    notes = next(c for c in objects_of(docs, "ConfigMap") if c["metadata"]["name"] == "notes")
    text = notes["data"]["notes"]
    assert f"port-forward svc/{RELEASE}-hookyard-ingest" in text
    assert "workers.inventorySync" in text
    if values == INGRESS:
        assert "https://hooks.example.com/webhooks/nhanh" in text
    if values in (KEDA, REDIS):
        assert "scaledobject" in text
    else:
        assert f"scale deployment/{RELEASE}-hookyard-inventory-sync" in text


def test_the_values_example_in_the_kubernetes_guide_renders(helm_template, tmp_path) -> None:
    guide = (CHART.parents[1] / "docs" / "kubernetes.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", guide, re.S)
    assert block, "docs/kubernetes.md has no values example"
    values = tmp_path / "guide-values.yaml"
    values.write_text(textwrap.dedent(block.group(1)))
    kinds = {d["kind"] for d in load_documents(helm_template(values).stdout)}
    assert {"Ingress", "ScaledObject", "TriggerAuthentication", "PrometheusRule"} <= kinds
