"""Ids from hookyard.base.ids: real UUIDv4 strings, never repeated, never shared with a forked
child."""

from __future__ import annotations

import os
import threading
import uuid

from hookyard.base import ids


def test_ids_are_canonical_uuid4_strings() -> None:
    for value in [ids.new_uuid4() for _ in range(3 * ids.BATCH)] + ids.uuid4_strings(5):
        parsed = uuid.UUID(value)
        assert str(parsed) == value  # lowercase 8-4-4-4-12, as str(uuid.uuid4()) gives
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat_across_batches_and_threads() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [ids.new_uuid4() for _ in range(5 * ids.BATCH)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == len(set(seen)) == 4 * 5 * ids.BATCH


def test_a_forked_child_does_not_hand_out_its_parents_buffered_ids() -> None:
    ids.new_uuid4()  # the parent now holds BATCH - 1 buffered ids
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.close(read_end)
        os.write(write_end, ",".join(ids.new_uuid4() for _ in range(8)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_ids = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent_ids = {ids.new_uuid4() for _ in range(8)}
    assert len(child_ids) == 8
    assert not child_ids & parent_ids
