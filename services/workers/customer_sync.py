"""``python -m workers.customer_sync``: runs the customer-sync queue."""

from workers.runner import main

if __name__ == "__main__":
    raise SystemExit(main("customer-sync"))
