"""Group commit on the in-memory persistence: batching, positions, isolated conflicts."""

import asyncio
import threading
from uuid import uuid4

import pytest
from eventsourcing.application import Application

from application.error import ConcurrentChange
from application.group_commit import GroupCommitter
from domain.task import Task


@pytest.fixture
def app():
    application = Application()
    yield application
    application.close()


def test_concurrent_commits_get_distinct_increasing_positions(app):
    committer = GroupCommitter(app)
    positions: list[int] = []
    lock = threading.Lock()

    def write():
        for _ in range(20):
            task = Task.create(uuid4(), "t")
            position = committer.commit(task.collect_events())
            with lock:
                positions.append(position)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    committer.close()
    assert sorted(positions) == list(range(1, 161))


def test_a_conflict_fails_only_the_command_that_conflicts(app):
    task = Task.create(uuid4(), "t")
    app.save(task)
    stale_a = app.repository.get(task.id)
    stale_b = app.repository.get(task.id)
    stale_a.update({"name": "a"})
    stale_b.update({"name": "b"})
    app.save(stale_a)
    committer = GroupCommitter(app)
    other = Task.create(uuid4(), "independent")
    gate = threading.Event()
    results = {}

    def run(name, events):
        gate.wait()
        try:
            results[name] = committer.commit(events)
        except ConcurrentChange as error:
            results[name] = error

    threads = [
        threading.Thread(target=run, args=("stale", stale_b.collect_events())),
        threading.Thread(target=run, args=("other", other.collect_events())),
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    committer.close()
    assert isinstance(results["stale"], ConcurrentChange)
    assert isinstance(results["other"], int) and results["other"] > 0
    assert app.repository.get(other.id).name == "independent"


def test_committing_nothing_returns_position_zero(app):
    committer = GroupCommitter(app)
    assert committer.commit([]) == 0
    committer.close()


def test_a_closed_committer_refuses_new_work(app):
    committer = GroupCommitter(app)
    committer.close()
    with pytest.raises(RuntimeError):
        committer.commit(Task.create(uuid4(), "t").collect_events())


def test_coroutines_await_their_positions_on_their_loop(app):
    committer = GroupCommitter(app)

    async def write_many() -> list[int]:
        tasks = [Task.create(uuid4(), f"t{i}") for i in range(50)]
        return list(
            await asyncio.gather(*(committer.submit_async(t.collect_events()) for t in tasks))
        )

    positions = asyncio.run(write_many())
    assert sorted(positions) == list(range(1, 51))
    assert asyncio.run(_empty(committer)) == 0
    committer.close()


async def _empty(committer: GroupCommitter) -> int:
    return await committer.submit_async([])


def test_a_coroutine_hears_of_its_conflict_and_a_cancelled_one_harms_nobody(app):
    task = Task.create(uuid4(), "t")
    app.save(task)
    stale = app.repository.get(task.id)
    fresh = app.repository.get(task.id)
    fresh.update({"name": "first"})
    app.save(fresh)
    stale.update({"name": "late"})
    committer = GroupCommitter(app)

    async def conflict_and_cancel() -> int:
        with pytest.raises(ConcurrentChange):
            await committer.submit_async(stale.collect_events())
        abandoned = committer.submit_async(Task.create(uuid4(), "abandoned").collect_events())
        abandoned.cancel()
        return await committer.submit_async(Task.create(uuid4(), "after").collect_events())

    assert asyncio.run(conflict_and_cancel()) > 0
    committer.close()
