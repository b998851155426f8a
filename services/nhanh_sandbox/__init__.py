"""A local stand-in for Nhanh.vn's Open API v3 (the subset Hookyard uses) and its webhooks.

Run it with ``python -m nhanh_sandbox --port 8083 [...]`` (``nhanh_sandbox.__main__`` lists the
flags); drive it with ``nhanh_sandbox.client.NhanhSandboxClient``. What it implements, and where
Nhanh's documentation (https://apidocs.nhanh.vn/v3) is silent what it chose, is in
docs/nhanh.md. It imports nothing of Hookyard's, and importing it starts nothing.
"""
