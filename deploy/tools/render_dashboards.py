"""Write Hookyard's Grafana dashboards into helm/hookyard/files/dashboards/.

The dashboards are generated so the three per-worker dashboards stay identical but for their
queue, and every query is written once. The JSON files are committed (the chart and the compose
stack read them); tests/deploy checks they match this script's output.

    python deploy/tools/render_dashboards.py          # rewrite the files
    python deploy/tools/render_dashboards.py --check  # exit 1 if a file is out of date

Label conventions: job="hookyard-ingest"; job="hookyard-worker" with worker=<kind> (set by the
chart's ServiceMonitor/PodMonitor and by deploy/compose/prometheus.yml). Queue gauges are read
from Redis by every replica, so they are aggregated with max, never summed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "helm" / "hookyard" / "files" / "dashboards"
WORKERS = ("customer-sync", "inventory-sync", "deploy")
DS = {"type": "prometheus", "uid": "${datasource}"}
NS = 'namespace=~"$namespace"'
RATE = "$__rate_interval"
NHANH_FAILING_SHARE = 0.05
"""HookyardNhanhDeliveriesFailing's threshold (helm/hookyard/files/alerts.yaml; a test holds
the two equal), drawn on the panel of the share it watches."""

Panel = dict[str, Any]


def quantile(q: float, histogram: str, selector: str) -> str:
    """PromQL for the q-quantile of a histogram family over all its series matching selector."""
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{selector}}}[{RATE}])))"


def ratio(numerator: str, denominator: str) -> str:
    """PromQL for sum(rate(numerator)) / sum(rate(denominator)); both are series selectors."""
    return f"sum(rate({numerator}[{RATE}])) / sum(rate({denominator}[{RATE}]))"


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": True}


def timeseries(
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    description: str = "",
    stack: bool = False,
    width: int = 12,
    threshold: float | None = None,
) -> Panel:
    """A time series panel; ``threshold`` draws a red line at that value (an alert's)."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "min": 0,
        "custom": {
            "drawStyle": "line",
            "fillOpacity": 15 if stack else 5,
            "lineWidth": 1,
            "showPoints": "never",
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
    }
    if threshold is not None:
        defaults["custom"]["thresholdsStyle"] = {"mode": "line"}
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": threshold}],
        }
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": 8, "w": width, "x": 0, "y": 0},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "calcs": ["lastNotNull", "max"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [_target(e, leg, chr(ord("A") + i)) for i, (e, leg) in enumerate(targets)],
    }


def stat(
    title: str,
    expr: str,
    *,
    unit: str = "short",
    description: str = "",
    thresholds: tuple[float, float] | None = None,
) -> Panel:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if thresholds:
        steps += [
            {"color": "orange", "value": thresholds[0]},
            {"color": "red", "value": thresholds[1]},
        ]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        },
        "targets": [_target(expr, "", "A")],
    }


def state_timeline(
    title: str,
    target: tuple[str, str],
    states: list[tuple[int, str, str]],
    *,
    description: str = "",
    width: int = 24,
) -> Panel:
    """A state timeline panel: one band per series, coloured by ``states`` (value, text,
    colour), so a state held over time reads at a glance."""
    expr, legend = target
    steps: list[dict[str, Any]] = [{"color": states[0][2], "value": None}]
    steps += [{"color": colour, "value": value} for value, _, colour in states[1:]]
    return {
        "type": "state-timeline",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": 6, "w": width, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "thresholds": {"mode": "absolute", "steps": steps},
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            str(value): {"text": text, "color": colour, "index": index}
                            for index, (value, text, colour) in enumerate(states)
                        },
                    }
                ],
            },
            "overrides": [],
        },
        "options": {
            "showValue": "never",
            "mergeValues": True,
            "rowHeight": 0.8,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        "targets": [_target(expr, legend, "A")],
    }


def row(title: str) -> Panel:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
    }


def layout(panels: list[Panel]) -> list[Panel]:
    """Give panels ids and flow them left to right, top to bottom on Grafana's 24-column grid."""
    x = y = row_height = 0
    for index, panel in enumerate(panels, start=1):
        grid = panel["gridPos"]
        if x + grid["w"] > 24 or panel["type"] == "row":
            x, y, row_height = 0, y + row_height, 0
        grid["x"], grid["y"] = x, y
        panel["id"] = index
        x += grid["w"]
        row_height = max(row_height, grid["h"])
        if panel["type"] == "row":
            x, y, row_height = 0, y + grid["h"], 0
    return panels


def dashboard(uid: str, title: str, description: str, panels: list[Panel]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["hookyard"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "tags": ["hookyard"],
                "asDropdown": True,
                "title": "Hookyard",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                },
                {
                    "name": "namespace",
                    "label": "Namespace",
                    "type": "query",
                    "datasource": DS,
                    "query": {
                        "query": "label_values(hookyard_jobs_total, namespace)",
                        "refId": "ns",
                    },
                    "definition": "label_values(hookyard_jobs_total, namespace)",
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": False,
                    "refresh": 2,
                    "current": {"text": "All", "value": "$__all"},
                    "hide": 0,
                    "sort": 1,
                },
            ]
        },
        "panels": layout(panels),
    }


def overview() -> dict[str, Any]:
    q_label = "{{queue}}"
    panels: list[Panel] = [
        stat("Webhooks in", f"sum(rate(hookyard_webhooks_total{{{NS}}}[{RATE}]))", unit="reqps"),
        stat(
            "Jobs waiting",
            f"sum(max by (queue) (hookyard_queue_waiting{{{NS}}}))",
            thresholds=(100, 1000),
        ),
        stat(
            "Oldest waiting job",
            f"max(hookyard_queue_oldest_waiting_age_seconds{{{NS}}})",
            unit="s",
            thresholds=(60, 300),
        ),
        stat("Dead jobs", f"sum(max by (queue) (hookyard_queue_dead{{{NS}}}))", thresholds=(1, 50)),
        row("Ingest"),
        timeseries(
            "Webhooks by outcome",
            [
                (
                    f"sum by (source, outcome) (rate(hookyard_webhooks_total{{{NS}}}[{RATE}]))",
                    "{{source}} {{outcome}}",
                )
            ],
            unit="reqps",
            stack=True,
            description="Deliveries accepted, duplicate, ignored, rejected_<code>, unavailable.",
        ),
        timeseries(
            "HTTP responses by status",
            [
                (
                    f"sum by (status) (rate(hookyard_http_requests_total{{{NS}}}[{RATE}]))",
                    "{{status}}",
                )
            ],
            unit="reqps",
            stack=True,
        ),
        *_nhanh_answer_panels(),
        timeseries(
            "Ingest latency",
            [
                (quantile(0.5, "hookyard_http_request_duration_seconds", NS), "p50"),
                (quantile(0.99, "hookyard_http_request_duration_seconds", NS), "p99"),
            ],
            unit="s",
        ),
        timeseries(
            "Jobs enqueued",
            [(f"sum by (queue) (rate(hookyard_jobs_enqueued_total{{{NS}}}[{RATE}]))", q_label)],
            unit="ops",
        ),
        row("Jobs and queues"),
        timeseries(
            "Jobs by outcome",
            [
                (
                    f"sum by (queue, outcome) (rate(hookyard_jobs_total{{{NS}}}[{RATE}]))",
                    "{{queue}} {{outcome}}",
                )
            ],
            unit="ops",
            stack=True,
            width=24,
        ),
        timeseries(
            "Queue depth (waiting)",
            [(f"max by (queue) (hookyard_queue_waiting{{{NS}}})", q_label)],
            description="Read from Redis at scrape time by every replica: max, not sum.",
        ),
        timeseries(
            "Oldest waiting job age",
            [(f"max by (queue) (hookyard_queue_oldest_waiting_age_seconds{{{NS}}})", q_label)],
            unit="s",
        ),
        timeseries(
            "In flight and delayed",
            [
                (f"max by (queue) (hookyard_queue_in_flight{{{NS}}})", "{{queue}} in flight"),
                (f"max by (queue) (hookyard_queue_delayed{{{NS}}})", "{{queue}} delayed"),
            ],
        ),
        timeseries(
            "Dead letters",
            [(f"max by (queue) (hookyard_queue_dead{{{NS}}})", q_label)],
            description="Jobs that failed for good and are still retained.",
        ),
        row("Shopify"),
        timeseries(
            "Budget available per shop",
            [(f"max by (shop) (hookyard_shopify_budget_available_points{{{NS}}})", "{{shop}}")],
            description="Points left in the shop's bucket as last reported by Shopify.",
        ),
        timeseries(
            "Cost points spent per shop",
            [
                (
                    f"sum by (shop) (rate(hookyard_shopify_cost_points_total{{{NS}}}[{RATE}]))",
                    "{{shop}}",
                )
            ],
            description="Query cost per second, against the plan's restore rate.",
        ),
        timeseries(
            "Throttled calls per shop",
            [
                (
                    f"sum by (shop) (rate(hookyard_shopify_throttled_total{{{NS}}}[{RATE}]))",
                    "{{shop}}",
                )
            ],
            unit="reqps",
        ),
        timeseries(
            "Calls by outcome",
            [
                (
                    f"sum by (shop, outcome) (rate(hookyard_shopify_calls_total{{{NS}}}[{RATE}]))",
                    "{{shop}} {{outcome}}",
                )
            ],
            unit="reqps",
            stack=True,
        ),
        *_breaker_panels(),
        *_shop_backlog_panels(),
        row("Replicas"),
        timeseries(
            "Replicas up",
            [
                (f'count by (worker) (up{{job="hookyard-worker", {NS}}} == 1)', "{{worker}}"),
                (f'count(up{{job="hookyard-ingest", {NS}}} == 1)', "ingest"),
            ],
        ),
        timeseries(
            "Consumers per queue",
            [(f"max by (queue) (hookyard_queue_consumers{{{NS}}})", q_label)],
            description="Live worker processes consuming each queue, as recorded in Redis.",
        ),
    ]
    return dashboard(
        "hookyard-overview",
        "Hookyard / Overview",
        "Webhooks in, jobs by outcome, queues, dead letters, Shopify budget, replicas.",
        panels,
    )


def worker(queue: str) -> dict[str, Any]:
    q = f'queue="{queue}", {NS}'
    w = f'job="hookyard-worker", worker="{queue}", {NS}'
    errors = 'outcome=~"failed|retried|dead_delivery_cap"'
    panels: list[Panel] = [
        stat("Jobs / s", f"sum(rate(hookyard_jobs_total{{{q}}}[{RATE}]))", unit="ops"),
        stat(
            "Error ratio",
            ratio(f"hookyard_jobs_total{{{q}, {errors}}}", f"hookyard_jobs_total{{{q}}}"),
            unit="percentunit",
            thresholds=(0.01, 0.1),
        ),
        stat(
            "p95 duration",
            quantile(0.95, "hookyard_job_duration_seconds", q),
            unit="s",
        ),
        stat("Replicas up", f"count(up{{{w}}} == 1)", thresholds=None),
        row("Rate, errors, duration"),
        timeseries(
            "Rate: jobs by outcome",
            [(f"sum by (outcome) (rate(hookyard_jobs_total{{{q}}}[{RATE}]))", "{{outcome}}")],
            unit="ops",
            stack=True,
        ),
        timeseries(
            "Errors: failed, retried and dead per second",
            [
                (
                    f"sum by (outcome) (rate(hookyard_jobs_total{{{q}, {errors}}}[{RATE}]))",
                    "{{outcome}}",
                )
            ],
            unit="ops",
        ),
        timeseries(
            "Duration",
            [
                (quantile(p, "hookyard_job_duration_seconds", q), f"p{int(p * 100)}")
                for p in (0.5, 0.95, 0.99)
            ]
            + [
                (
                    ratio(
                        f"hookyard_job_duration_seconds_sum{{{q}}}",
                        f"hookyard_job_duration_seconds_count{{{q}}}",
                    ),
                    "mean",
                )
            ],
            unit="s",
        ),
        timeseries(
            "Shopify calls from this worker",
            [
                (
                    f"sum by (shop, outcome) (rate(hookyard_shopify_calls_total{{{w}}}[{RATE}]))",
                    "{{shop}} {{outcome}}",
                )
            ],
            unit="reqps",
        ),
        *(_bulk_panels(w) if queue != "deploy" else []),
        row("Queue"),
        timeseries(
            "Waiting, delayed, in flight",
            [
                (f"max(hookyard_queue_waiting{{{q}}})", "waiting"),
                (f"max(hookyard_queue_delayed{{{q}}})", "delayed"),
                (f"max(hookyard_queue_in_flight{{{q}}})", "in flight"),
            ],
        ),
        timeseries(
            "Oldest waiting job age",
            [(f"max(hookyard_queue_oldest_waiting_age_seconds{{{q}}})", "age")],
            unit="s",
        ),
        timeseries("Dead letters", [(f"max(hookyard_queue_dead{{{q}}})", "dead")]),
        timeseries(
            "Replicas and consumers",
            [
                (f"count(up{{{w}}} == 1)", "replicas up"),
                (f"max(hookyard_queue_consumers{{{q}}})", "consumers"),
            ],
        ),
    ]
    title = queue.replace("-", " ").title()
    return dashboard(
        f"hookyard-{queue}",
        f"Hookyard / Worker {title}",
        f"RED for the {queue} worker: job rate, errors, duration, and its queue.",
        panels,
    )


def _nhanh_answer_panels() -> list[Panel]:
    """What Nhanh.vn sees of Hookyard: every answer on its webhook paths, and the share that
    was not 200 as HookyardNhanhDeliveriesFailing computes it (docs/operations.md)."""
    nhanh = f'source="nhanh", {NS}'
    failed = f'source="nhanh", status!="200", {NS}'
    share = (  # per namespace, as the alert pages
        f"sum by (namespace) (rate(hookyard_webhook_answers_total{{{failed}}}[15m])) "
        f"/ sum by (namespace) (rate(hookyard_webhook_answers_total{{{nhanh}}}[15m]))"
    )
    return [
        timeseries(
            "Answers to Nhanh.vn by status and reason",
            [
                (
                    f"sum by (status, reason) "
                    f"(rate(hookyard_webhook_answers_total{{{nhanh}}}[{RATE}]))",
                    "{{status}} {{reason}}",
                )
            ],
            unit="reqps",
            stack=True,
            description="Every answer to a request on /webhooks/nhanh (and the paths under it), "
            "whoever gave it: 200 by outcome, the rest by error code, including gunicorn's "
            "408/400/414/431 before the app. Nhanh.vn re-sends a delivery that did not get 200 "
            "at most 3 times.",
        ),
        timeseries(
            "Answers to Nhanh.vn not 200 (share over 15 min)",
            [(share, "{{namespace}}")],
            unit="percentunit",
            threshold=NHANH_FAILING_SHARE,
            description="The share HookyardNhanhDeliveriesFailing watches; the red line is its "
            "threshold. It pages only with at least 5 such answers in 15 minutes, for 5 "
            "minutes.",
        ),
    ]


BREAKER_STATES = [(0, "closed", "green"), (1, "half open", "orange"), (2, "open", "red")]
"""hookyard_shopify_breaker_state's values (hookyard.base.metrics.BREAKER_STATE_VALUES)."""


def _breaker_panels() -> list[Panel]:
    """Each shop's Shopify circuit breaker over time (HookyardShopifyUnavailable fires after 2
    minutes out of closed), and the calls it kept from being made (docs/shopify.md)."""
    return [
        state_timeline(
            "Circuit breaker per shop",
            (f"max by (shop) (hookyard_shopify_breaker_state{{{NS}}})", "{{shop}}"),
            BREAKER_STATES,
            description="Read from Redis at scrape time by every ingest replica: max, not sum. "
            "Open: Shopify failed the shop's calls repeatedly and none is made; half open: one "
            "probe call is out. The shop's jobs wait meanwhile (GET /shops, docs/operations.md "
            "HookyardShopifyUnavailable).",
        ),
        timeseries(
            "Calls kept back by an open breaker per shop",
            [
                (
                    f"sum by (shop) "
                    f"(rate(hookyard_shopify_breaker_rejected_calls_total{{{NS}}}[{RATE}]))",
                    "{{shop}}",
                )
            ],
            unit="reqps",
            description="Shopify calls jobs wanted to make while the shop's breaker was open.",
        ),
        timeseries(
            "Breaker transitions per shop",
            [
                (
                    f"sum by (shop, to) "
                    f"(increase(hookyard_shopify_breaker_transitions_total{{{NS}}}[{RATE}]))",
                    "{{shop}} to {{to}}",
                )
            ],
            description="Opened, probed (half_open) and closed again, by the worker whose call "
            "caused it.",
        ),
    ]


def _shop_backlog_panels() -> list[Panel]:
    """Each shop's waiting sync jobs and how long the oldest has waited: with turns a long
    backlog of one shop does not delay the others (docs/design.md, "Fair by shop")."""
    return [
        timeseries(
            "Sync backlog per shop",
            [(f"max by (shop, queue) (hookyard_shop_backlog{{{NS}}})", "{{shop}} {{queue}}")],
            description="Jobs waiting to be written to Shopify, per shop and queue; read from "
            "Redis at scrape time by every ingest replica (max, not sum).",
        ),
        timeseries(
            "Oldest waiting sync job per shop",
            [(f"max by (shop, queue) (hookyard_shop_oldest_waiting_age_seconds{{{NS}}})",
              "{{shop}} {{queue}}")],
            unit="s",
            description="How long each shop's oldest waiting job has waited. One shop's long "
            "backlog shows here alone: the others keep being served in turn.",
        ),
    ]


def _bulk_panels(w: str) -> list[Panel]:
    """Catalogue bulk queries (mapping snapshots) and their background prefill of a sync
    worker, docs/sync.md."""
    return [
        timeseries(
            "Catalogue bulk queries by outcome",
            [
                (
                    f"sum by (kind, outcome) "
                    f"(increase(hookyard_shopify_bulk_operations_total{{{w}}}[{RATE}]))",
                    "{{kind}} {{outcome}}",
                )
            ],
        ),
        timeseries(
            "Background snapshot loads by outcome",
            [
                (
                    f"sum by (kind, outcome) "
                    f"(increase(hookyard_catalog_prefills_total{{{w}}}[{RATE}]))",
                    "{{kind}} {{outcome}}",
                )
            ],
            description="The worker's prefill thread, at start and when a snapshot comes due "
            "(docs/sync.md): fresh and held mean nothing to do here.",
        ),
        timeseries(
            "Catalogue rows loaded",
            [
                (
                    f"sum by (kind) (increase(hookyard_shopify_bulk_rows_total{{{w}}}[{RATE}]))",
                    "{{kind}}",
                )
            ],
        ),
    ]


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    boards = {"hookyard-overview.json": overview()}
    boards |= {f"hookyard-worker-{queue}.json": worker(queue) for queue in WORKERS}
    return {
        name: json.dumps(board, indent=2, sort_keys=True) + "\n" for name, board in boards.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT_DIR / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(REPO)))
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python deploy/tools/render_dashboards.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
