"""The tasks feature: Behflow's tasks, their history and time travel, their numbers."""

from typing import Any

from application.task import TaskCommands
from domain.task import Task
from interfaces.analytics import Analytics, Export, QueryLookup, Window
from interfaces.api.alias import Alias, Exchange, Presenter
from interfaces.api.presenters import devflow_answer, devflow_error, renamed_query
from interfaces.api.routes import history, task_stats, tasks
from interfaces.feature import Feature, ReadModel, Scope
from interfaces.metrics import Sampled, count_by
from projections.readers import ReaderRule
from projections.task import COLUMNS, TaskProjection, TaskQueries
from projections.task_activity import TaskActivityProjection, TaskActivityQueries

TASK_COLUMNS = tuple(c for c in COLUMNS if c not in ("owner_id", "position"))
DAY_COLUMNS = ("date", "created", "completed", "failed")


def _overview(lookup: QueryLookup, scope: Window) -> dict[str, Any]:
    activity: TaskActivityQueries = lookup(TaskActivityQueries)
    return activity.totals(scope.owner_id, scope.first, scope.last)


def _timeline(lookup: QueryLookup, scope: Window) -> list[dict[str, Any]]:
    points = lookup(TaskActivityQueries).timeline(scope.owner_id, scope.first, scope.last)
    return [{k: p[k] for k in DAY_COLUMNS} for p in points]


def _task_rows(lookup: QueryLookup, scope: Window) -> Any:
    return lookup(TaskQueries).stream(scope.owner_id, TASK_COLUMNS)


def _day_rows(lookup: QueryLookup, scope: Window) -> Any:
    return ([p[k] for k in DAY_COLUMNS] for p in _timeline(lookup, scope))


# DevFlow's task (003:L127-140): fields Ledgerflow does not have yet are written out as null.
DEVFLOW_TASK_FIELDS = (
    "agentId",
    "intent",
    "repo",
    "branch",
    "progress",
    "currentStep",
    "startedAt",
    "completedAt",
    "error",
)


def devflow_task(answer: Any, exchange: Exchange) -> Any:
    """A task as DevFlow's ``GET /api/tasks/:task_id`` shows it: camelCase, ``id``, ``userId``."""
    state = exchange.scope.get("state", {})
    out: dict[str, Any] = dict.fromkeys(DEVFLOW_TASK_FIELDS)
    out |= devflow_answer(answer, exchange)
    out |= {"id": answer["task_id"], "userId": str(state.get("user_id", "")) or None}
    out["agentId"] = answer.get("taken_by") or answer.get("agent_id")
    out.pop("takenBy", None)
    return out


FEATURE = Feature(
    name="tasks",
    handlers=(TaskCommands,),
    read_models=(
        ReadModel(lambda rules: TaskProjection(), TaskQueries),
        ReadModel(lambda rules: TaskActivityProjection(), TaskActivityQueries),
    ),
    routers=(task_stats.router, tasks.router, history.router),  # /stats before /{task_id}
    scopes=(Scope("/api/v1/tasks", read="tasks:read", write="tasks:write"),),
    readers=(ReaderRule(Task, lambda created: created.owner_id),),
    aliases=(
        # 002 writes /tasks/ and filters with status_filter
        Alias(
            "GET",
            "/api/v1/tasks/",
            "/api/v1/tasks",
            Presenter(query=renamed_query({"status_filter": "status"})),
        ),
        Alias(
            "GET",
            "/api/tasks/{task_id}",
            "/api/v1/tasks/{task_id}",
            Presenter(answer=devflow_task, error=devflow_error),
        ),
    ),
    metrics=(
        Sampled(
            "ledgerflow_tasks",
            "Live tasks by status",
            ("status",),
            count_by("tasks", "status", tracked=True),
        ),
    ),
    analytics=(
        Analytics("overview.tasks", _overview, "task_activity"),
        Analytics("timeline", _timeline, "task_activity"),
    ),
    exports=(
        Export("tasks", TASK_COLUMNS, _task_rows, "tasks"),
        Export("analytics", DAY_COLUMNS, _day_rows, "task_activity"),
    ),
)
