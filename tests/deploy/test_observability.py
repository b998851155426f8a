"""Alert rules and Grafana dashboards: promtool accepts and tests the rules, every metric they
use is one Hookyard declares (or a listed external one), every alert has a runbook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import CHART, EXTERNAL_METRICS, REPO, run

ALERTS = CHART / "files" / "alerts.yaml"
DASHBOARDS = sorted((CHART / "files" / "dashboards").glob("*.json"))
RULES_TEST = REPO / "tests" / "deploy" / "rules_test.yaml"
OPERATIONS = REPO / "docs" / "operations.md"
RUNBOOK_BASE = "https://github.com/hookyard/hookyard/blob/main/docs/operations.md#"

PROMQL_WORDS = {
    # aggregations and their modifiers
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    # binary operators and keywords
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    # functions
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "resets",
    "changes",
    "histogram_quantile",
    "absent",
    "absent_over_time",
    "label_replace",
    "label_join",
    "clamp",
    "clamp_min",
    "clamp_max",
    "vector",
    "scalar",
    "time",
    "timestamp",
    "abs",
    "ceil",
    "floor",
    "round",
    "sqrt",
    "exp",
    "ln",
    "log2",
    "log10",
    "sgn",
    "sort",
    "sort_desc",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "quantile_over_time",
    "stddev_over_time",
    "present_over_time",
    "day_of_week",
    "hour",
    "minute",
    "month",
    "year",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count", "_created")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (labels, durations and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    tokens = re.findall(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text)
    return {t for t in tokens if t not in PROMQL_WORDS}


def family_of(name: str, declared: set[str]) -> str:
    if name in declared:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in declared:
            return name.removesuffix(suffix)
    return name


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs(board: dict[str, Any]) -> Iterator[str]:
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            yield re.sub(r"label_values\((\w+),.*\)", r"\1", query["query"])


@pytest.fixture(scope="module")
def declared() -> set[str]:
    from hookyard.base.metrics import declared_metric_names

    return set(declared_metric_names())


def test_metric_name_extraction_finds_names_and_ignores_labels() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, queue) (rate(hookyard_job_duration_seconds_bucket"
        '{queue="deploy", job=~"a|b"}[$__rate_interval]))) / on (x) up offset 5m and foo_bar'
    )
    assert metric_names(expr) == {"hookyard_job_duration_seconds_bucket", "up", "foo_bar"}


def test_promtool_accepts_the_alert_rules(tools) -> None:
    run([tools.promtool, "check", "rules", ALERTS])


def test_promtool_rule_tests_pass(tools) -> None:
    run([tools.promtool, "test", "rules", RULES_TEST], cwd=REPO)


def test_the_rule_tests_see_every_alert_fire() -> None:
    tests = yaml.safe_load(RULES_TEST.read_text())
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == {rule["alert"] for rule in alert_rules()}


def test_the_alerts_cover_the_failures_on_call_must_hear_about() -> None:
    assert {rule["alert"] for rule in alert_rules()} == {
        "HookyardIngestHighErrorRate",  # ingest 5xx rate outside the webhook paths
        "HookyardNhanhDeliveriesFailing",  # Nhanh.vn gets answers other than 200
        "HookyardQueueBacklogGrowing",  # queue backlog growing
        "HookyardOldestJobTooOld",  # oldest waiting job too old
        "HookyardDeadLettersGrowing",  # dead letters growing
        "HookyardWorkerDown",  # a worker kind with no replica up
        "HookyardShopifyThrottled",  # Shopify throttling sustained
        "HookyardShopifyUnavailable",  # a shop's Shopify circuit breaker open for 2 minutes
        "HookyardRedisMemoryNearLimit",  # Redis memory near maxmemory
    }


def test_every_alert_has_severity_summary_and_a_runbook_section() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", m.group(1).strip().lower()).replace(" ", "-")
        for m in re.finditer(r"^#{2,4}\s+(.+)$", OPERATIONS.read_text(), re.M)
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), url
        anchor = url.removeprefix(RUNBOOK_BASE)
        assert anchor == rule["alert"].lower()
        assert anchor in anchors, f"docs/operations.md has no section for {rule['alert']}"


def test_alert_expressions_use_only_declared_metrics(declared) -> None:
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            family = family_of(name, declared)
            assert family in declared | EXTERNAL_METRICS, f"{rule['alert']}: unknown metric {name}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_use_only_declared_metrics(declared, path: Path) -> None:
    board = json.loads(path.read_text())
    used = set()
    for expr in dashboard_exprs(board):
        for name in metric_names(expr):
            family = family_of(name, declared)
            assert family in declared | EXTERNAL_METRICS, (
                f"{path.name}: unknown metric {name} in {expr}"
            )
            used.add(family)
    assert used & declared


def test_queue_gauges_are_never_summed_across_replicas() -> None:
    """Every replica exports the same queue gauges; summing them multiplies the backlog."""
    exprs = [rule["expr"] for rule in alert_rules()]
    for path in DASHBOARDS:
        exprs += list(dashboard_exprs(json.loads(path.read_text())))
    for expr in exprs:
        for match in re.finditer(r"(\w+)\s*(?:by\s*\([^)]*\)\s*)?\(\s*hookyard_queue_", expr):
            assert match.group(1) not in ("sum", "avg", "count"), expr


def test_dashboards_are_up_to_date_with_their_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "tools" / "render_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_is_an_overview_and_one_dashboard_per_worker_kind() -> None:
    assert [p.name for p in DASHBOARDS] == [
        "hookyard-overview.json",
        "hookyard-worker-customer-sync.json",
        "hookyard-worker-deploy.json",
        "hookyard-worker-inventory-sync.json",
    ]
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboards_query_the_selected_data_source(path: Path) -> None:
    board = json.loads(path.read_text())
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]


def test_the_nhanh_answers_panel_draws_the_alert_s_threshold() -> None:
    [rule] = [r for r in alert_rules() if r["alert"] == "HookyardNhanhDeliveriesFailing"]
    alert_threshold = float(re.search(r"\)\s*>\s*([0-9.]+)", rule["expr"]).group(1))
    board = json.loads((CHART / "files" / "dashboards" / "hookyard-overview.json").read_text())
    [panel] = [p for p in board["panels"] if p["title"].startswith("Answers to Nhanh.vn not 200")]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == alert_threshold == 0.05
    assert "hookyard_webhook_answers_total" in panel["targets"][0]["expr"]
    assert "[15m]" in panel["targets"][0]["expr"]  # the alert's window, not the graph's step


def test_the_breaker_panel_names_the_states_the_metric_exports() -> None:
    from hookyard.base.metrics import BREAKER_STATE_GAUGE, BREAKER_STATE_VALUES

    board = json.loads((CHART / "files" / "dashboards" / "hookyard-overview.json").read_text())
    [panel] = [p for p in board["panels"] if p["title"] == "Circuit breaker per shop"]
    assert panel["type"] == "state-timeline"
    options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert {int(value): option["text"].replace(" ", "_") for value, option in options.items()} \
        == {value: state for state, value in BREAKER_STATE_VALUES.items()}
    assert f"max by (shop) ({BREAKER_STATE_GAUGE}" in panel["targets"][0]["expr"]
