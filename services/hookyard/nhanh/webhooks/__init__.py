"""Nhanh.vn webhooks as Nhanh documents them, v2 and v3, validated strictly per version.

``envelope`` reads what every delivery has (event, businessId, data) and decides the version;
``inventory``, ``orders`` and ``customers`` validate each event's ``data``; ``jobs`` turns a
parsed delivery into Hookyard jobs. docs/nhanh.md lists the documentation pages each shape is
taken from.
"""
