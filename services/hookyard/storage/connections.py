"""Redis clients of the two databases Hookyard uses (docs/design.md, "Two Redis databases").

Every process makes its clients here: ingest for acceptance and the status API, workers for the
broker and the job store. None connects until used (redis-py connects lazily).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from hookyard.base.settings import Settings


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
