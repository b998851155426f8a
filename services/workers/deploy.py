"""``python -m workers.deploy``: runs the deploy queue."""

from hookyard.base.queues import DEPLOY
from workers.runner import main

if __name__ == "__main__":
    raise SystemExit(main(DEPLOY))
