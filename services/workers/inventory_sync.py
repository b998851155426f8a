"""``python -m workers.inventory_sync``: runs the inventory-sync queue."""

from hookyard.base.queues import INVENTORY_SYNC
from workers.runner import main

if __name__ == "__main__":
    raise SystemExit(main(INVENTORY_SYNC))
