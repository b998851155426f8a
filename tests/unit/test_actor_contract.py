"""Actor names, queues and options are a contract between versions in a rolling deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"

EXPECTED = {
    "sync_customer": ("customer-sync", {"throws"}),
    "sync_inventory_item": ("inventory-sync", {"throws"}),
    "deploy_theme": ("deploy", {"throws"}),
    "deploy_theme_priority": ("deploy", {"throws"}),
}


def test_actor_names_queues_and_options_are_pinned():
    script = (
        "from hookyard.base.settings import Settings\n"
        "from workers.runner import boot\n"
        "_, broker = boot(Settings.from_env({}))\n"
        "import hookyard.actors\n"
        "for name in sorted(broker.get_declared_actors()):\n"
        "    actor = broker.get_actor(name)\n"
        "    print(name, actor.queue_name, ','.join(sorted(actor.options)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""),
                                 "PYTHONPATH": str(SERVICES)}, timeout=60)
    assert result.returncode == 0, result.stderr
    declared = {}
    for line in result.stdout.splitlines():
        name, queue, options = [*line.split(" "), ""][:3]
        declared[name] = (queue, set(filter(None, options.split(","))))
    assert declared == EXPECTED


def test_the_declared_actor_names_are_the_ones_producers_use():
    from hookyard.base.queues import ACTORS

    assert {actor.name: actor.queue for actor in ACTORS} == \
        {name: queue for name, (queue, _) in EXPECTED.items()}
