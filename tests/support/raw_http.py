"""Reading an HTTP answer off a raw socket, for tests that send requests no client library
would (malformed framing, stalls, fuzzed bytes)."""

from __future__ import annotations

import socket
import time


def content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return None


def is_complete(data: bytes) -> bool:
    """Whether ``data`` holds a whole answer: its head and the body its Content-Length names."""
    if b"\r\n\r\n" not in data:
        return False
    head, body = data.split(b"\r\n\r\n", 1)
    length = content_length(head)
    return length is not None and len(body) >= length


def read_answer(sock: socket.socket, *, within: float | None = None) -> bytes:
    """What the server sends until its answer is complete, it closes, or it resets the
    connection. ``within`` bounds the whole read (``TimeoutError`` past it); without it the
    socket's own timeout bounds each read."""
    deadline = time.monotonic() + within if within is not None else None
    data = b""
    while not is_complete(data):
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no whole answer within {within} s")
            sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def split_answer(data: bytes) -> tuple[int, bytes, bytes]:
    """Status, head and body (cut to its Content-Length) of a complete answer."""
    head, body = data.split(b"\r\n\r\n", 1)
    length = content_length(head)
    return int(head.split(b" ", 2)[1]), head, body[:length] if length is not None else body
