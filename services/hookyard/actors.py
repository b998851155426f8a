"""Every actor, declared once. Every service that sends or runs jobs imports them from here.

Importing this module binds the actors to Dramatiq's global broker, so it refuses to load before
``hookyard.jobs.broker.install`` (an actor declared first would bind to a default localhost
broker for good). Actor names, queues and options are pinned by a contract test; messages
change only by adding keyword arguments with defaults, because rolling deploys mix versions.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import dramatiq.broker

from hookyard.base.queues import (
    CUSTOMER_SYNC,
    DEPLOY,
    DEPLOY_THEME,
    DEPLOY_THEME_PRIORITY,
    INVENTORY_SYNC,
    SYNC_CUSTOMER,
    SYNC_INVENTORY_ITEM,
)
from hookyard.jobs.broker import HookyardBroker

if not isinstance(dramatiq.broker.global_broker, HookyardBroker):
    raise RuntimeError(
        "hookyard.actors imported before the broker was installed: call "
        "hookyard.jobs.broker.install(settings, jobs=...) first, as workers.runner.boot does."
    )

from hookyard.base.errors import PermanentJobError
from hookyard.jobs import runtime
from hookyard.sync import customers, inventory
from hookyard.themes import deploys


@dramatiq.actor(actor_name=SYNC_CUSTOMER.name, queue_name=SYNC_CUSTOMER.queue,
                throws=(PermanentJobError,))
def sync_customer(job_id: str) -> Any:
    """Push one Nhanh.vn customer's total spent into its Shopify customer metafield."""
    return runtime.run_job(job_id, customers.sync_customer)


@dramatiq.actor(actor_name=SYNC_INVENTORY_ITEM.name, queue_name=SYNC_INVENTORY_ITEM.queue,
                throws=(PermanentJobError,))
def sync_inventory_item(job_id: str) -> Any:
    """Set one Nhanh.vn product's available quantities at the mapped Shopify locations."""
    return runtime.run_job(job_id, inventory.sync_inventory_item)



@dramatiq.actor(actor_name=DEPLOY_THEME.name, queue_name=DEPLOY_THEME.queue,
                throws=(PermanentJobError,))
def deploy_theme(job_id: str) -> Any:
    """Upload a stored theme bundle into a Shopify theme, in batches, with progress."""
    return runtime.run_job(job_id, deploys.deploy_theme)


# Same step and queue; a lower priority number runs first among the messages a worker has
# fetched (deploys to shops with a custom domain, see docs/deploys.md).
@dramatiq.actor(actor_name=DEPLOY_THEME_PRIORITY.name, queue_name=DEPLOY_THEME_PRIORITY.queue,
                priority=-10,
                throws=(PermanentJobError,))
def deploy_theme_priority(job_id: str) -> Any:
    """``deploy_theme`` for a shop with a custom domain: served before the others."""
    return runtime.run_job(job_id, deploys.deploy_theme)

ACTORS_BY_QUEUE = {
    CUSTOMER_SYNC: sync_customer,
    INVENTORY_SYNC: sync_inventory_item,
    DEPLOY: deploy_theme,
}
