"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections, loopback only.

Two modes, one engine (``run_load``):

- ``closed``: every connection sends its next request as soon as the previous answer arrived
  (saturation throughput). Latency is measured from the actual send.
- ``open``: requests are *scheduled* at a fixed rate (``t0 + i / rate``) whatever the server
  does; a request that finds no idle connection waits, and its latency is measured from its
  scheduled time, so a slow server cannot hide its stalls (no coordinated omission).

Every request carries a distinct body (``BodyTemplate``: a counter is spliced into a template),
because the ingest de-duplicates identical bodies. When the duration ends no new request is
started and every in-flight one is awaited, so "answered OK" is an exact count that can be
checked against Redis. Each generator process reports the CPU it used, so a benchmark can show
that the generator did not starve the server.

Loops are bounded: the run stops at ``duration + drain_timeout`` seconds whatever happens.
"""

from __future__ import annotations

import collections
import multiprocessing
import re
import resource
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COUNTER_SENTINEL = b"987654321"  # the integer spliced by BodyTemplate (must be unique in it)
_ACCEPTED = re.compile(rb'"accepted":\s*(\d+)')
_NOT_DUPLICATE = re.compile(rb'"duplicate":\s*false')


@dataclass(frozen=True)
class BodyTemplate:
    """A body with ``COUNTER_SENTINEL`` where a per-request counter goes."""

    parts: tuple[bytes, ...]

    @classmethod
    def from_body(cls, body: bytes) -> BodyTemplate:
        parts = tuple(body.split(COUNTER_SENTINEL))
        if len(parts) < 2:
            raise ValueError("the template body must contain the counter sentinel")
        return cls(parts)

    def render(self, counter: int) -> bytes:
        return str(counter).encode().join(self.parts)


@dataclass(frozen=True)
class LoadSpec:
    """What one generator process sends, and how."""

    host: str
    port: int
    path: str
    template: BodyTemplate
    counter_start: int  # distinct per process and phase: bodies never repeat in one run
    mode: str  # "closed" or "open"
    duration: float
    connections: int
    rate: float = 0.0  # open mode: requests/s of this process
    max_connections: int = 64  # open mode: connections may grow to this when all are busy
    expected_accepted: int = 10
    start_at: float = 0.0  # time.time() at which to start (aligns several processes)
    keepalive: bool = True  # False: "Connection: close", a new connection per request
    drain_timeout: float = 10.0
    request_timeout: float = 10.0


@dataclass
class LoadResult:
    """One process's (or the merged) outcome. Latencies in seconds."""

    ok: int = 0
    bad_status: dict[int, int] = field(default_factory=dict)
    bad_body: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    sent: int = 0
    first_bad: str = ""
    max_connections_used: int = 0
    late_sends: int = 0  # open mode: requests sent > 1 ms after their scheduled time

    @property
    def failed(self) -> int:
        return sum(self.bad_status.values()) + self.bad_body + sum(self.errors.values())

    def merge(self, other: LoadResult) -> None:
        self.ok += other.ok
        self.bad_body += other.bad_body
        self.sent += other.sent
        self.late_sends += other.late_sends
        for status, count in other.bad_status.items():
            self.bad_status[status] = self.bad_status.get(status, 0) + count
        for name, count in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + count
        self.latencies.extend(other.latencies)
        self.wall_seconds = max(self.wall_seconds, other.wall_seconds)
        self.cpu_seconds += other.cpu_seconds
        self.first_bad = self.first_bad or other.first_bad
        self.max_connections_used += other.max_connections_used


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


class _Connection:
    __slots__ = ("buffer", "sock", "started")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.started = 0.0  # when the request in flight was scheduled (open) or sent (closed)


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(None)  # sends are blocking (small bodies on loopback); reads use select
    return sock


def _parse_response(buffer: bytes) -> tuple[int, bytes, bool, int] | None:
    """(status, body, close, consumed) of one complete response at the start of ``buffer``."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = buffer[:head_end].lower()
    status = int(head[9:12])
    length = 0
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
    end = head_end + 4 + length
    if len(buffer) < end:
        return None
    close = b"\r\nconnection: close" in head
    return status, buffer[head_end + 4 : end], close, end


def run_load(spec: LoadSpec) -> LoadResult:
    """Send ``spec``'s load from this process; returns counts, latencies and CPU used."""
    result = LoadResult()
    header = (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n"
        + ("" if spec.keepalive else "Connection: close\r\n")
        + "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    counter = spec.counter_start

    def next_request() -> bytes:
        nonlocal counter
        body = spec.template.render(counter)
        counter += 1
        return header + str(len(body)).encode() + b"\r\n\r\n" + body

    # select(2) takes a microsecond timeout (epoll/poll round up to whole milliseconds, which
    # would make open-loop sends up to 1 ms late); a few dozen sockets are well within its reach.
    selector = selectors.SelectSelector()
    idle: collections.deque[_Connection] = collections.deque()
    busy: dict[int, _Connection] = {}
    total_connections = 0

    def open_connection() -> _Connection:
        nonlocal total_connections
        conn = _Connection(_connect(spec.host, spec.port))
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        total_connections += 1
        result.max_connections_used = max(result.max_connections_used, total_connections)
        return conn

    def drop(conn: _Connection) -> None:
        nonlocal total_connections
        selector.unregister(conn.sock)
        conn.sock.close()
        busy.pop(id(conn), None)
        total_connections -= 1

    def count_error(name: str, detail: str = "") -> None:
        result.errors[name] = result.errors.get(name, 0) + 1
        result.first_bad = result.first_bad or f"{name}: {detail}"[:300]

    def send(conn: _Connection, started: float) -> bool:
        """Send one request on ``conn``; False when the connection turned out dead (idle
        connections closed by the server are replaced and the request is resent)."""
        request = next_request()
        for attempt in (1, 2):
            try:
                conn.sock.sendall(request)
                break
            except OSError as exc:
                drop(conn)
                if attempt == 2:
                    count_error("send", repr(exc))
                    return False
                conn = open_connection()
        conn.started = started
        conn.buffer = b""
        busy[id(conn)] = conn
        result.sent += 1
        return True

    # Without keep-alive an open-loop run connects per request (an idle connection would hold a
    # server thread while it waits for its first bytes).
    for _ in range(spec.connections if spec.keepalive or spec.mode == "closed" else 0):
        idle.append(open_connection())

    delay = spec.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    deadline = t0 + spec.duration
    hard_deadline = deadline + spec.drain_timeout
    interval = 1.0 / spec.rate if spec.mode == "open" else 0.0
    scheduled = 0
    backlog: collections.deque[float] = collections.deque()

    while True:
        now = time.perf_counter()
        if now >= hard_deadline:
            for conn in list(busy.values()):
                count_error("unanswered_at_end")
                drop(conn)
            break
        if spec.mode == "open":
            while True:
                due = t0 + scheduled * interval
                if due > now or due >= deadline:
                    break
                backlog.append(due)
                scheduled += 1
            while backlog:
                if not idle:
                    if total_connections >= spec.max_connections:
                        break
                    idle.append(open_connection())
                due = backlog.popleft()
                if now - due > 0.001:
                    result.late_sends += 1
                send(idle.popleft(), due)
            if now >= deadline and not backlog and not busy:
                break
            next_due = t0 + scheduled * interval
            wait = max(0.0, next_due - time.perf_counter()) if next_due < deadline else 0.05
        else:
            if now < deadline:
                while idle:
                    send(idle.popleft(), now)
            elif not busy:
                break
            wait = 0.05
        for key, _ in selector.select(min(wait, 0.05)):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError as exc:
                chunk = b""
                if id(conn) in busy:
                    count_error("recv", repr(exc))
                    drop(conn)
                    continue
            if not chunk:
                if id(conn) in busy:
                    count_error("closed_in_flight")
                else:
                    idle.remove(conn)
                drop(conn)
                continue
            if id(conn) not in busy:
                continue  # stray bytes on an idle connection: ignore
            conn.buffer += chunk
            parsed = _parse_response(conn.buffer)
            if parsed is None:
                continue
            status, body, close, _ = parsed
            finished = time.perf_counter()
            result.latencies.append(finished - conn.started)
            del busy[id(conn)]
            if status != 200:
                result.bad_status[status] = result.bad_status.get(status, 0) + 1
                result.first_bad = result.first_bad or f"HTTP {status}: {body[:200]!r}"
            else:
                match = _ACCEPTED.search(body)
                if (match is None or int(match.group(1)) != spec.expected_accepted
                        or not _NOT_DUPLICATE.search(body)):
                    result.bad_body += 1
                    result.first_bad = result.first_bad or f"unexpected 200 body: {body[:200]!r}"
                else:
                    result.ok += 1
            if close or not spec.keepalive:
                drop(conn)
                if not spec.keepalive and spec.mode == "closed" and now < deadline:
                    idle.append(open_connection())
            else:
                idle.append(conn)
        # Requests stuck longer than request_timeout: give up on them (and their connection).
        if busy:
            now = time.perf_counter()
            for conn in [c for c in busy.values() if now - c.started > spec.request_timeout]:
                count_error("timeout")
                drop(conn)

    result.wall_seconds = min(time.perf_counter(), deadline) - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_before
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()
    return result


def _child(spec: LoadSpec, queue: Any) -> None:
    try:
        queue.put(run_load(spec))
    except BaseException as exc:
        queue.put(exc)
        raise


def run_processes(make_spec: Callable[[int], LoadSpec], processes: int) -> LoadResult:
    """Run ``processes`` generator processes (spec ``make_spec(i)`` each) and merge results.

    One process is run in-line (no fork), which is what the 2-core benchmark uses by default.
    """
    if processes == 1:
        return run_load(make_spec(0))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_child, args=(make_spec(i), queue), daemon=True)
                for i in range(processes)]
    for child in children:
        child.start()
    merged = LoadResult()
    for _ in children:
        outcome = queue.get(timeout=600)
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"a load generator process failed: {outcome!r}")
        merged.merge(outcome)
    for child in children:
        child.join(timeout=10)
    return merged
