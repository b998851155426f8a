"""Redis as Hookyard uses it: clients of the two databases, the Lua scripts and the connections
kept for them, leases and rate limits. It imports only ``hookyard.base``."""
