"""The link from a task to the step of the run that created it (internal to the run engine)."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event


class RunTask(Aggregate):
    """Which step of which run a task was created for: the engine looks it up when the task
    changes (its id is derived from the task's, so no read model is needed)."""

    TOPIC = "run_task"

    class Created(Aggregate.Created):
        TOPIC = "run_task.created"
        run_id: UUID
        step_id: UUID
        attempt: int

    @staticmethod
    def id_for(task_id: UUID) -> UUID:
        """The link's id for a task id."""
        return uuid5(task_id, "run-task")

    @classmethod
    def link(cls, task_id: UUID, run_id: UUID, step_id: UUID, attempt: int) -> RunTask:
        """Record that ``task_id`` belongs to an attempt of a run's step."""
        return cls._create(
            cls.Created, id=cls.id_for(task_id), run_id=run_id, step_id=step_id, attempt=attempt
        )

    @event(Created)
    def __init__(self, run_id: UUID, step_id: UUID, attempt: int) -> None:
        self.run_id = run_id
        self.step_id = step_id
        self.attempt = attempt
