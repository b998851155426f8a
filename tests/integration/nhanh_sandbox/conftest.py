"""Fixtures for the Nhanh sandbox's own tests: a raw Open API v3 caller and seeded businesses,
against the real sandbox process (``nhanh_sandbox_process`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nhanh_sandbox.client import NhanhSandboxClient
from tests.support.nhanh_sandbox_api import NhanhApi, business_seed
from tests.support.nhanh_sandbox_process import NhanhSandboxProcess


@pytest.fixture
def api(nhanh_sandbox_process: NhanhSandboxProcess) -> NhanhApi:
    return NhanhApi(nhanh_sandbox_process.url)


@pytest.fixture
def seeded(nhanh_sandbox: NhanhSandboxClient) -> Callable[..., dict[str, Any]]:
    """``seeded(**business_seed kwargs)`` seeds the business and returns its seed."""

    def seed(**kwargs: Any) -> dict[str, Any]:
        document = business_seed(**kwargs)
        nhanh_sandbox.seed_business(document)
        return document

    return seed
