"""Worker entrypoints: ``python -m workers.<kind>``, one per queue, all on the same code."""
