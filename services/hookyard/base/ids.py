"""Random ids (UUID version 4 strings) handed out from randomness read in batches.

A webhook of n items needs 2n + 1 ids (job ids, broker message ids, the request id).
``str(uuid.uuid4())`` reads the kernel's random source once per id, and each read releases the
GIL, which in a threaded gunicorn worker invites a thread switch per id; building the ``UUID``
object costs more than the read. ``new_uuid4()`` gives the same string (same 122 random bits,
version and variant set as RFC 9562 says) from a per-thread buffer of ``BATCH`` ids filled by one
``os.urandom`` call.

Fork safety: a forked child must never hand out ids its parent buffered (two processes would
issue the same ids), so the buffers are dropped in the child at fork.
"""

from __future__ import annotations

import os
import threading

BATCH = 64


class _Buffer(threading.local):
    def __init__(self) -> None:
        self.ids: list[str] = []


_buffer = _Buffer()


def _forget_buffers() -> None:
    global _buffer
    _buffer = _Buffer()


os.register_at_fork(after_in_child=_forget_buffers)


def uuid4_strings(count: int) -> list[str]:
    """``count`` fresh random UUIDv4 strings (``8-4-4-4-12`` lowercase hex) from one read."""
    raw = bytearray(os.urandom(16 * count))
    for start in range(0, 16 * count, 16):
        raw[start + 6] = (raw[start + 6] & 0x0F) | 0x40  # version 4
        raw[start + 8] = (raw[start + 8] & 0x3F) | 0x80  # variant 10xx (RFC 9562)
    digits = raw.hex()
    return [f"{digits[i:i + 8]}-{digits[i + 8:i + 12]}-{digits[i + 12:i + 16]}-"
            f"{digits[i + 16:i + 20]}-{digits[i + 20:i + 32]}" for i in range(0, 32 * count, 32)]


def new_uuid4() -> str:
    """One fresh random UUIDv4 string, as ``str(uuid.uuid4())`` gives."""
    ids = _buffer.ids
    if not ids:
        ids.extend(uuid4_strings(BATCH))
    return ids.pop()
