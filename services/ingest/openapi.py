"""``GET /openapi.yaml``: the OpenAPI description of ingest, read from package data.

``services/ingest/openapi.yaml`` is the served copy of ``docs/openapi.yaml``; a test holds the two
equal and runs Schemathesis against the app with it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import falcon


@cache
def openapi_document() -> bytes:
    return (resources.files("ingest") / "openapi.yaml").read_bytes()


class OpenApiResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = openapi_document()
        resp.content_type = "application/yaml"
