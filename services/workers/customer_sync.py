"""``python -m workers.customer_sync``: runs the customer-sync queue."""

from hookyard.base.queues import CUSTOMER_SYNC
from workers.runner import main

if __name__ == "__main__":
    raise SystemExit(main(CUSTOMER_SYNC))
