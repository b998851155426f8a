"""The Dramatiq broker, built by a pure function and installed by the process that runs it.

``build_broker(settings, jobs=...)`` returns a configured ``HookyardBroker`` without touching the
network (redis-py connects lazily); ``jobs`` is the process's one ``JobStore``, which the
lifecycle middleware records transitions in. ``install(settings, jobs=...)`` makes it the global
broker; only then may
``hookyard.actors`` be imported, and it refuses otherwise (an actor declared before
``set_broker`` binds to localhost:6379 forever, which a local Redis would hide).

Tuning that differs from Dramatiq's defaults, and why:
- heartbeat timeout ``HOOKYARD_HEARTBEAT_TIMEOUT_SECONDS`` (10 s, not 60 s) and maintenance on
  10 % of broker commands (not 0.1 %): a SIGKILLed worker's messages come back in seconds.
  A short timeout is only safe because ``WorkerPresence`` heartbeats from its own thread: an
  idle Dramatiq consumer heartbeats when it polls, a busy one (prefetch full) does not.
- Retries is replaced by ``hookyard.jobs.lifecycle.JobLifecycle`` (retry state lives in job
  records); no message is ever nacked, so Dramatiq's own dead-letter sets stay empty.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis, dq_name
from dramatiq.message import Message
from dramatiq.middleware import Middleware, ShutdownNotifications, TimeLimit

from hookyard.base import keys
from hookyard.base.settings import Settings
from hookyard.jobs.consumer import HeldMessages, WakeableConsumer
from hookyard.jobs.lifecycle import JobLifecycle
from hookyard.jobs.messages import new_redis_message_id
from hookyard.jobs.store import JobStore
from hookyard.storage import scripts
from hookyard.storage.connections import broker_client

MAINTENANCE_CHANCE = 100_000  # out of 1,000,000 broker commands
DEAD_MESSAGE_TTL_MS = 60_000  # Dramatiq's XQ is unused; keep anything stray briefly


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
        self.held = HeldMessages()
        self._fenced_enqueue = scripts.register(client, "enqueue")

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return WakeableConsumer

    def dispatch_on(self, pipe: redis.client.Pipeline, command: str, queue_name: str,
                    *args: Any) -> None:
        """Queue ``do_<command>(queue_name, *args)`` (Dramatiq's dispatch script, same
        arguments) on ``pipe``. The script must be loaded already: it is once this process has
        fetched, and a pipeline's own script loading would cost a round trip per execute."""
        pipe.evalsha(self.scripts["dispatch"].sha, 1, self.namespace, command, current_millis(),
                     queue_name, self.broker_id, self.heartbeat_timeout, self.dead_message_ttl,
                     self._should_do_maintenance(command), self._max_unpack_size(), *args)

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
                keys.shop_turn_pattern(),
            ],
        )
        self.emit_after("enqueue", message, delay)
        return message


def build_broker(settings: Settings, *, jobs: JobStore,
                 extra_middleware: list[Middleware] | None = None,
                 client: redis.Redis | None = None) -> HookyardBroker:
    """A broker with Hookyard's middleware, recording transitions in ``jobs`` (the process's one
    job store); connects to nothing until used."""
    middleware: list[Middleware] = [
        TimeLimit(time_limit=settings.sync_time_limit_seconds * 1000, interval=1000),
        ShutdownNotifications(),
        JobLifecycle(settings, jobs),
        *(extra_middleware or []),
    ]
    return HookyardBroker(settings, client=client or broker_client(settings),
                          middleware=middleware)


def install(settings: Settings, *, jobs: JobStore) -> HookyardBroker:
    """Build the broker and make it Dramatiq's global broker (call once per process)."""
    broker = build_broker(settings, jobs=jobs)
    dramatiq.set_broker(broker)
    return broker
