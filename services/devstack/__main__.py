"""``python -m devstack``: the whole stack on this machine (see ``devstack.stack``)."""

from devstack.stack import main

if __name__ == "__main__":
    raise SystemExit(main())
