"""docs/openapi.yaml describes ingest: the served copy is the same file, and a Schemathesis run
(in-process, through the WSGI app and the session's real Redis) finds no 5xx and no answer that
the description does not allow (status, content type, headers, body schema)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import falcon.testing
import schemathesis
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hookyard.base.settings import Settings
from ingest.app import create_app, ingest_job_store
from tests.support.nhanh_payloads import TOKEN
from tests.support.platform_support import ADMIN_TOKEN, SHOP_TOKEN

ROOT = Path(__file__).resolve().parents[2]
DOCS_COPY = ROOT / "docs" / "openapi.yaml"
FUZZ_BUDGET = os.environ.get("HOOKYARD_FUZZ_EXAMPLES")
"""Examples per operation and mode (and caller) instead of the normal run's bounded budget,
e.g. ``HOOKYARD_FUZZ_EXAMPLES=2000``; such a run also draws new examples every time (the normal
run draws the same ones, so it cannot flake)."""
EXAMPLES = int(FUZZ_BUDGET or 25)
NEGATIVE_EXAMPLES = int(FUZZ_BUDGET or 10)
"""Per operation and caller (three callers) in the negative-mode run."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
ERROR_CODE = re.compile(r"[a-z_]+")


@schemathesis.check
def error_shape(ctx, response, case) -> None:
    """Every 4xx and 5xx is ``{"error": "<stable_code>", "message": "<what to do>"}`` (the
    contract), whatever the description of the operation says."""
    if response.status_code < 400:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        f"{response.status_code} answered as {response.headers.get('content-type')}")
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and \
        ERROR_CODE.fullmatch(body["error"]), f"{response.status_code} without an error code: {body}"
    assert isinstance(body.get("message"), str) and body["message"], body


def test_the_served_description_is_docs_openapi_yaml(client: falcon.testing.TestClient):
    served = client.simulate_get("/openapi.yaml")
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("application/yaml")
    assert served.content == DOCS_COPY.read_bytes(), (
        "services/ingest/openapi.yaml differs from docs/openapi.yaml; copy one onto the other")


def test_the_description_names_every_route_of_the_app(client: falcon.testing.TestClient):
    described = set(yaml.safe_load(DOCS_COPY.read_text(encoding="utf-8"))["paths"])
    app = client.app
    routes = set()

    def walk(nodes: list) -> None:
        for node in nodes:
            if node.resource is not None:
                routes.add(node.uri_template)
            walk(node.children)

    walk(app._router._roots)
    assert routes == described


def operations(schema: schemathesis.BaseSchema) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    # one per route and method of docs/openapi.yaml (the WSGI loader leaves out the
    # description's own route, GET /openapi.yaml, tested above)
    assert len(found) >= 14
    return found


def test_every_operation_answers_as_described_and_never_5xx(settings: Settings, jobs):
    # schemathesis.pytest.from_fixture needs pytest < 9, so each operation's strategy is run
    # through Hypothesis here. The app is authorised as an operator (and the webhook routes carry
    # a verify token) so generated input reaches the handlers; missing and wrong tokens have
    # their own tests.
    unlimited = dataclasses.replace(settings, api_rate_limit_per_minute=1_000_000)
    app = create_app(unlimited, jobs=ingest_job_store(unlimited))
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "verifyToken": TOKEN}
    failures = []
    for operation in operations(schema):
        # positive: input the description allows; negative: input it forbids (wrong types,
        # missing fields, bad parameters) - both must answer as described and never 5xx.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(max_examples=EXAMPLES, deadline=None,
                                 derandomize=FUZZ_BUDGET is None, database=None,
                                 suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:  # no input to get wrong (GET /healthz): nothing negative
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # collect every failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_negative_input_never_answers_5xx_or_an_error_of_another_shape(settings: Settings, jobs):
    # Input the description forbids, for every operation, as an operator, as a shop and with no
    # token at all: each answer is a documented status (never a 5xx) in the error shape.
    # HOOKYARD_FUZZ_EXAMPLES raises the budget (and then draws new examples every run).
    unlimited = dataclasses.replace(settings, api_rate_limit_per_minute=1_000_000)
    app = create_app(unlimited, jobs=ingest_job_store(unlimited))
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    callers = {"operator": {"Authorization": f"Bearer {ADMIN_TOKEN}", "verifyToken": TOKEN},
               "shop": {"Authorization": f"Bearer {SHOP_TOKEN}", "verifyToken": TOKEN},
               "anonymous": {}}
    failures = []
    for operation in operations(schema):
        for caller, headers in callers.items():
            try:
                fuzz_negative(operation, headers)
            except Unsatisfiable:  # no input to get wrong (GET /healthz)
                pass
            except Exception as exc:
                failures.append(f"{operation.label} as {caller}: {exc}")
    assert not failures, "\n\n".join(failures)


def fuzz_negative(operation, headers: dict[str, str]) -> None:
    @hypothesis_settings(max_examples=NEGATIVE_EXAMPLES, deadline=None,
                         derandomize=FUZZ_BUDGET is None, database=None,
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[*CHECKS, error_shape])

    call()
