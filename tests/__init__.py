"""Hookyard's tests (``tests.support`` holds what tests, chaos runs and benchmarks share)."""
