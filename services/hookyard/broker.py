"""The Dramatiq broker, built by a pure function and installed by the process that runs it.

``build_broker(settings)`` returns a configured ``HookyardBroker`` without touching the network
(redis-py connects lazily). ``install(settings)`` makes it the global broker; only then may
``hookyard.actors`` be imported, and it refuses otherwise (an actor declared before
``set_broker`` binds to localhost:6379 forever, which a local Redis would hide).

Tuning that differs from Dramatiq's defaults, and why:
- heartbeat timeout ``HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS`` (10 s, not 60 s) and maintenance on
  10 % of broker commands (not 0.1 %): a SIGKILLed worker's messages come back in seconds.
  A short timeout is only safe because ``WorkerPresence`` heartbeats from its own thread: an
  idle Dramatiq consumer heartbeats when it polls, a busy one (prefetch full) does not.
- Retries is replaced by ``hookyard.lifecycle.JobLifecycle`` (retry state lives in job records);
  no message is ever nacked, so Dramatiq's own dead-letter sets stay empty.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message
from dramatiq.middleware import Middleware, ShutdownNotifications, TimeLimit

from hookyard import keys, scripts
from hookyard.messages import new_redis_message_id
from hookyard.settings import Settings

MAINTENANCE_CHANCE = 100_000  # out of 1,000,000 broker commands
DEAD_MESSAGE_TTL_MS = 60_000  # Dramatiq's XQ is unused; keep anything stray briefly


class WakeableConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, except that an idle consumer of a work queue blocks on the
    queue's wake-up list (BLPOP) instead of sleeping.

    Dramatiq's idle consumer sleeps with a growing backoff (up to the worker timeout), so a job
    sent to an idle worker waits up to that long before it is even fetched. Every Hookyard
    enqueue pushes a wake-up token in the same script as the message, so an idle consumer
    fetches within a round trip. A busy consumer (prefetch full) sleeps as before and leaves the
    tokens to idle ones. Delay queues keep the plain sleep: their messages wait for an ETA.
    """

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                room = self.prefetch - self.outstanding_message_count
                if room > 0:
                    self.message_cache = self.broker.do_fetch(self.queue_name, room)
                    if self.message_cache:
                        continue
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                if room > 0 and not self.queue_name.endswith(".DQ"):
                    self.broker.client.blpop([keys.broker_wakeup(self.queue_name)],
                                             timeout=max(backoff_ms, 10) / 1000)
                else:
                    time.sleep(backoff_ms / 1000)
                return None
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None


class HookyardBroker(RedisBroker):
    """A RedisBroker whose enqueue is fenced by the job record (see ``lua/enqueue.lua``).

    A re-enqueue of a job (a delayed message moving to its queue) only happens when the message
    it comes from is still the job's current one, and the record then names the new message, in
    one atomic step. Plain messages without a job record are enqueued as Dramatiq would.
    """

    def __init__(self, settings: Settings, *, client: redis.Redis,
                 middleware: list[Middleware]) -> None:
        super().__init__(
            client=client,
            namespace=keys.BROKER_NAMESPACE,
            middleware=middleware,
            heartbeat_timeout=settings.heartbeat_timeout_seconds * 1000,
            maintenance_chance=MAINTENANCE_CHANCE,
            dead_message_ttl=DEAD_MESSAGE_TTL_MS,
        )
        self.settings = settings
        self._fenced_enqueue = scripts.register(client, "enqueue")

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return WakeableConsumer

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        previous = str(message.options.get("redis_message_id") or "")
        queue_name = message.queue_name
        options: dict[str, Any] = {"redis_message_id": new_redis_message_id()}
        if delay is not None:
            queue_name = dq_name(queue_name)
            options["eta"] = current_millis() + delay
        message = message.copy(queue_name=queue_name, options=options)
        self.emit_before("enqueue", message, delay)
        self._fenced_enqueue(
            keys=[
                keys.job(message.message_id),
                keys.broker_queue(queue_name),
                keys.broker_messages(queue_name),
                keys.broker_wakeup(queue_name),
            ],
            args=[
                self.settings.state_redis_db,
                self.settings.broker_redis_db,
                previous,
                options["redis_message_id"],
                message.encode(),
            ],
        )
        self.emit_after("enqueue", message, delay)
        return message


def broker_client(settings: Settings, *, socket_timeout: float | None = None) -> redis.Redis:
    """A client on the broker DB (the DB index of ``HOOKYARD_REDIS_URL``)."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout or 5,
        health_check_interval=30,
    )


def url_with_db(url: str, db: int) -> str:
    """``url`` pointing at DB ``db`` (redis-py lets the URL's path win over a ``db=`` argument)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(db))]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def state_client(settings: Settings, *, socket_timeout: float | None = None) -> redis.Redis:
    """A client on the state DB (``HOOKYARD_STATE_REDIS_DB``) of the same Redis."""
    return redis.Redis.from_url(
        url_with_db(settings.redis_url, settings.state_redis_db),
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout or 5,
        health_check_interval=30,
    )


def build_broker(settings: Settings, *, extra_middleware: list[Middleware] | None = None,
                 client: redis.Redis | None = None) -> HookyardBroker:
    """A broker with Hookyard's middleware; connects to nothing until used."""
    from hookyard.lifecycle import JobLifecycle  # the lifecycle imports jobs, which is heavier

    middleware: list[Middleware] = [
        TimeLimit(time_limit=settings.sync_time_limit_seconds * 1000, interval=1000),
        ShutdownNotifications(),
        JobLifecycle(settings),
        *(extra_middleware or []),
    ]
    return HookyardBroker(settings, client=client or broker_client(settings),
                          middleware=middleware)


def install(settings: Settings) -> HookyardBroker:
    """Build the broker and make it Dramatiq's global broker (call once per process)."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    return broker


def setup() -> None:
    """Entry for ``dramatiq hookyard.broker:setup``: install from the environment."""
    install(Settings.from_env())
