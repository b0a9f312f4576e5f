"""New ids: random version-4 UUIDs, never the same twice, also across a fork (domain/ids.py)."""

from __future__ import annotations

import os

from domain.ids import new_id


def test_ids_are_version_4_uuids_and_distinct_over_many_buffers():
    ids = [new_id() for _ in range(5000)]  # about 20 reads of the kernel's randomness
    assert all(i.version == 4 and i.variant == "specified in RFC 4122" for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_never_hands_out_the_ids_its_parent_will():
    new_id()  # the parent has bytes read ahead
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's own process)
        os.write(writer, b"".join(new_id().bytes for _ in range(8)))
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    theirs = os.read(reader, 4096)
    os.close(reader)
    mine = b"".join(new_id().bytes for _ in range(8))
    assert len(theirs) == 128
    assert {theirs[i : i + 16] for i in range(0, 128, 16)}.isdisjoint(
        {mine[i : i + 16] for i in range(0, 128, 16)}
    )
