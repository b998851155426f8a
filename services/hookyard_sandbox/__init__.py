"""A local stand-in for Shopify's GraphQL Admin API (the subset Hookyard uses).

Run it with ``python -m hookyard_sandbox --host 127.0.0.1 --port 8082 [--shops-file F]``; drive
it with ``hookyard_sandbox.client.SandboxClient``. See docs/shopify.md for what it implements.
Importing this package starts nothing.
"""
