"""The fault-injection run (``python -m tests.chaos.run``) and its tests."""
