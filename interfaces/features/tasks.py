"""The tasks feature: Behflow's tasks, their history and time travel."""

from typing import Any

from application.task import TaskCommands
from domain.task import Task
from interfaces.api.alias import Alias, Exchange, Presenter
from interfaces.api.presenters import devflow_answer, devflow_error, renamed_query
from interfaces.api.routes import history, tasks
from interfaces.feature import Feature, ReadModel, Scope
from projections.readers import ReaderRule
from projections.task import TaskProjection, TaskQueries

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
    return out


FEATURE = Feature(
    name="tasks",
    handlers=(TaskCommands,),
    read_models=(ReadModel(lambda rules: TaskProjection(), TaskQueries),),
    routers=(tasks.router, history.router),
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
)
