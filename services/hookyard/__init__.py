"""Hookyard's shared package, one subpackage per concern; dependencies point one way:

``base`` <- ``storage`` <- ``jobs`` <- ``shopify`` <- {``sync``, ``themes``} <- ``actors``

(docs/design.md, "Layout"; import-linter contracts in pyproject.toml hold the line). The
services ``ingest`` and ``workers`` build on it; it imports neither, nor ``devstack`` or the
sandbox.
"""
