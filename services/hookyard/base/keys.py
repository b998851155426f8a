"""Every Redis key Hookyard reads or writes is built here.

Two databases of one Redis: the *broker* DB holds Dramatiq's structures (its maintenance runs
``KEYS`` there, so it must stay small) and the *state* DB holds everything of Hookyard's own (job
records, indexes, dedupe markers, leases, rate budgets). Lua scripts receive these keys as
``KEYS[]`` and switch between the two DBs with ``SELECT``.
"""

from __future__ import annotations

BROKER_NAMESPACE = "dramatiq"
STATE_PREFIX = "hy"


# --- Broker DB (Dramatiq's layout, see dramatiq/brokers/redis/dispatch.lua) -----------------


def broker_queue(queue: str) -> str:
    """List of redis message ids waiting on ``queue``."""
    return f"{BROKER_NAMESPACE}:{queue}"


def broker_messages(queue: str) -> str:
    """Hash redis message id -> encoded message, for waiting *and* fetched (in-flight) messages."""
    return f"{BROKER_NAMESPACE}:{queue}.msgs"


def broker_delay_queue(queue: str) -> str:
    return f"{BROKER_NAMESPACE}:{queue}.DQ"


def broker_delay_messages(queue: str) -> str:
    return f"{BROKER_NAMESPACE}:{queue}.DQ.msgs"


def broker_wakeup(queue: str) -> str:
    """List of wake-up tokens: every enqueue pushes one, idle consumers block on it (BLPOP)."""
    return f"{BROKER_NAMESPACE}:{queue}.wakeup"


def broker_heartbeats() -> str:
    """Sorted set of broker (worker process) ids by last heartbeat, in milliseconds."""
    return f"{BROKER_NAMESPACE}:__heartbeats__"


def broker_acks(worker_id: str, queue: str) -> str:
    """Set of redis message ids that worker ``worker_id`` fetched from ``queue`` and not acked."""
    return f"{BROKER_NAMESPACE}:__acks__.{worker_id}.{queue}"


def broker_acks_prefix() -> str:
    return f"{BROKER_NAMESPACE}:__acks__."


# --- State DB: jobs -------------------------------------------------------------------------


def job(job_id: str) -> str:
    """Hash with one job's record (see ``hookyard.jobs.JobRecord``)."""
    return f"{STATE_PREFIX}:job:{job_id}"


def jobs_by_queue(queue: str) -> str:
    """Sorted set of job ids of ``queue`` by creation time (ms): listing and pagination."""
    return f"{STATE_PREFIX}:jobs:queue:{queue}"


def all_jobs() -> str:
    """Sorted set of every job id by creation time (ms): listing without a filter."""
    return f"{STATE_PREFIX}:jobs:all"


def jobs_by_shop(shop: str) -> str:
    return f"{STATE_PREFIX}:jobs:shop:{shop}"


def jobs_in_state(queue: str, state: str) -> str:
    """Sorted set of job ids of ``queue`` in ``state`` by when they entered it (ms)."""
    return f"{STATE_PREFIX}:state:{queue}:{state}"


def dedupe(source: str, body_sha256: str) -> str:
    """String holding the JSON list of job ids created by one delivered body."""
    return f"{STATE_PREFIX}:dedupe:{source}:{body_sha256}"


def queue_totals(queue: str) -> str:
    """Hash outcome -> count of jobs that ended so, since Redis was created (never trimmed)."""
    return f"{STATE_PREFIX}:totals:{queue}"


# --- State DB: workers, sweeper -------------------------------------------------------------


def worker_presence(queue: str) -> str:
    """Sorted set worker id -> last seen (ms): which worker processes consume ``queue``."""
    return f"{STATE_PREFIX}:workers:{queue}"


def worker_holdings(worker_id: str) -> str:
    """JSON ``{"seq", "ids"}``: the work-queue messages worker process ``worker_id`` held at its
    last heartbeat (``seq`` counts its heartbeats); expires with the worker."""
    return f"{STATE_PREFIX}:held:{worker_id}"


def sweeper_lease() -> str:
    return f"{STATE_PREFIX}:lease:sweeper"


# --- State DB: Shopify ----------------------------------------------------------------------


def shopify_budget(shop: str) -> str:
    """Hash of one shop's shared leaky bucket: available, capacity, restore_rate, updated_ms."""
    return f"{STATE_PREFIX}:shopify:budget:{shop}"


def shopify_breaker(shop: str) -> str:
    """Hash of one shop's circuit breaker, shared by every replica (``hookyard.shopify.breaker``):
    ``state``, ``since_ms``, ``failures``, ``failed_probes``, ``next_probe_ms`` and, while a probe
    call is out, ``probe`` (its lease token) and ``probe_until_ms``."""
    return f"{STATE_PREFIX}:breaker:{shop}"


def shopify_cache(shop: str, kind: str) -> str:
    """Hash of one shop's resolved ids (``kind`` is e.g. ``inventory-item`` or ``customer``)."""
    return f"{STATE_PREFIX}:shopify:cache:{shop}:{kind}"


def shopify_cache_loading(shop: str, kind: str, owner: str) -> str:
    """A cache of ``kind`` being filled from a bulk export by ``owner``; renamed onto
    ``shopify_cache(shop, kind)`` when complete (it expires if its loader dies)."""
    return f"{STATE_PREFIX}:shopify:cache:{shop}:{kind}:loading:{owner}"


def mapping_misses(shop: str, kind: str) -> str:
    """Sorted set of one shop's lookups of ``kind`` that found nothing (the key looked up, by
    when that negative entry expires, in ms): such keys are not looked up again until then."""
    return f"{STATE_PREFIX}:shopify:miss:{shop}:{kind}"


def mapping_ambiguities(shop: str, kind: str) -> str:
    """Sorted set of one shop's lookups of ``kind`` that found more than one match (the key
    looked up, by when that entry expires, in ms): not matched, nor looked up again until then."""
    return f"{STATE_PREFIX}:shopify:ambiguous:{shop}:{kind}"


def catalog_snapshot(shop: str, kind: str) -> str:
    """Hash describing one shop's bulk export of ``kind`` (inventory, customer):
    ``completed_at_ms``, ``rows``, ``loaded_operation_id``; while one runs ``operation_id`` and
    ``operation_started_ms``; after a failure ``failed_at_ms`` and ``error``."""
    return f"{STATE_PREFIX}:catalog:{shop}:{kind}"


def catalog_lease(shop: str, kind: str) -> str:
    """Held by the one worker running (or waiting for) a shop's bulk export of ``kind``."""
    return f"{STATE_PREFIX}:lease:catalog:{shop}:{kind}"


def entity_versions(shop: str, kind: str) -> str:
    """Hash of one shop's synced values of ``kind`` (inventory, customer), per field (an
    item@location or a customer): ``accepted:<f>`` the newest accepted sequence number,
    ``applied:<f>`` the sequence number and ``value:<f>`` the value last written to Shopify."""
    return f"{STATE_PREFIX}:entity:{shop}:{kind}"


def acceptance_seq() -> str:
    """Counter: every accepted delivery takes the next number (orders values of an entity)."""
    return f"{STATE_PREFIX}:seq"


def pending_batch(shop: str, kind: str) -> str:
    """Sorted set of job ids of ``kind`` for ``shop`` waiting to be written, by sequence."""
    return f"{STATE_PREFIX}:pending:{shop}:{kind}"


def shop_turn(shop: str, kind: str) -> str:
    """Hash ``{rmid, streak}``: the one message that stands for ``shop``'s pending jobs of
    ``kind`` in the queue (its *turn*, ``hookyard.sync.turns``), and how many turns in a row the
    shop has had at the queue's head (its weight)."""
    return f"{STATE_PREFIX}:turn:{shop}:{kind}"


def shop_turn_pattern() -> str:
    """``shop_turn`` with ``%s`` for the shop and the kind: scripts that move a job's message
    build its shop's turn key from the job's record (``lua/enqueue.lua``, ``lua/requeue.lua``)."""
    return shop_turn("%s", "%s")


def batch_lock(shop: str, kind: str) -> str:
    """Held by the one job writing a batch of ``kind`` for ``shop`` to Shopify."""
    return f"{STATE_PREFIX}:lock:batch:{shop}:{kind}"


# --- State DB: Nhanh ----------------------------------------------------------------------


def nhanh_order_customer(shop: str, order_id: str) -> str:
    """String: the Nhanh customer id an order of ``shop`` belongs to, with a TTL. Nhanh's
    ``orderDelete`` names only order ids; this is how its customer is found."""
    return f"{STATE_PREFIX}:nhanh:order-customer:{shop}:{order_id}"


def nhanh_api_rate(app_id: str, business_id: str, path: str) -> str:
    """Sorted set of the Nhanh API requests admitted for one app + business + API path (request
    id by ms): Nhanh's limit of N requests per sliding window, which it counts per app, business
    and URL, shared here by every replica."""
    return f"{STATE_PREFIX}:ratelimit:nhanh:{app_id}:{business_id}:{path}"


# --- State DB: deploys ------------------------------------------------------------------------


def deploy_bundle(job_id: str) -> str:
    """String holding one deploy job's uploaded bundle (bytes as received), with a TTL."""
    return f"{STATE_PREFIX}:deploy:{job_id}:bundle"


def deploy_checkpoint(job_id: str) -> str:
    """Hash of a deploy's progress that survives a worker crash: ``theme_id``,
    ``theme_create_started`` and ``file:<filename>`` -> md5 of what was uploaded."""
    return f"{STATE_PREFIX}:deploy:{job_id}:checkpoint"


def deploy_rate(shop: str) -> str:
    """Sorted set of one shop's accepted deploys (request id by ms): the per-shop rate limit."""
    return f"{STATE_PREFIX}:ratelimit:deploy:{shop}"


# --- State DB: security -----------------------------------------------------------------------


def api_rate(token_name: str) -> str:
    """Sorted set of one API token's admitted requests (request id by ms): the status API's
    per-token rate limit. Keyed by the token's name, never by the token or its digest."""
    return f"{STATE_PREFIX}:ratelimit:api:{token_name}"


def audit_log() -> str:
    """Stream of operator actions (who, action, job id, outcome), capped by count and age."""
    return f"{STATE_PREFIX}:audit"
