"""The queues and the actors that run on them: every name, declared once.

Producers (ingest, operator actions, the sweeper) write messages for these actors without
importing Dramatiq; ``hookyard.actors`` declares the Dramatiq actors from the same ``ActorName``
objects, so a name cannot drift between the two sides. A contract test pins them.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_SYNC = "customer-sync"
INVENTORY_SYNC = "inventory-sync"
DEPLOY = "deploy"
QUEUES = (CUSTOMER_SYNC, INVENTORY_SYNC, DEPLOY)
SYNC_QUEUES = (CUSTOMER_SYNC, INVENTORY_SYNC)
"""Queues whose jobs push Nhanh.vn changes into Shopify (their time limit is the sync one)."""
INVENTORY_KIND, CUSTOMER_KIND = "inventory", "customer"
BATCH_KINDS = {INVENTORY_KIND: INVENTORY_SYNC, CUSTOMER_KIND: CUSTOMER_SYNC}
"""Sync kinds whose pending jobs of a shop are written together (``hookyard.sync.batching``),
and the queue each runs on."""


@dataclass(frozen=True)
class ActorName:
    """An actor's name and the queue it runs on."""

    name: str
    queue: str


SYNC_CUSTOMER = ActorName("sync_customer", CUSTOMER_SYNC)
SYNC_INVENTORY_ITEM = ActorName("sync_inventory_item", INVENTORY_SYNC)
DEPLOY_THEME = ActorName("deploy_theme", DEPLOY)
DEPLOY_THEME_PRIORITY = ActorName("deploy_theme_priority", DEPLOY)
"""Operator-started deploys (and replays of them) jump the deploy queue."""

ACTORS = (SYNC_CUSTOMER, SYNC_INVENTORY_ITEM, DEPLOY_THEME, DEPLOY_THEME_PRIORITY)
