"""Local tooling, not product: the stack on one machine, the private Redis, and the one way
to launch, watch and stop a child process.

Used by ``make stack`` (``python -m devstack``), the e2e and chaos tests and the benchmarks.
Nothing in ``hookyard``, ``ingest`` or ``workers`` imports it; it starts them only as processes.
"""
