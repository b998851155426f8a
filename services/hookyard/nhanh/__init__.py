"""Speaking Nhanh.vn: its webhook shapes, v2 and v3 (``webhooks``), and its Open API v3 (the
``client``, paced under Nhanh's limit shared by every replica, and the reads Hookyard makes:
``customers``' totals, ``products``' stock). See docs/nhanh.md.

Importing this package defines nothing: ingest imports only ``webhooks``, workers the client.
"""
