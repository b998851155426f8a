"""Every command the image, compose and Helm run is a module this code base provides."""

from __future__ import annotations

import importlib.util

import pytest

MODULES = ["workers.customer_sync", "workers.inventory_sync", "workers.deploy",
           "hookyard_sandbox.__main__", "devstack.__main__", "ingest.gunicorn_conf"]


@pytest.mark.parametrize("module", MODULES)
def test_command_module_exists(module):
    assert importlib.util.find_spec(module) is not None


def test_ingest_factory_exists():
    from ingest.app import get_app

    assert callable(get_app)
