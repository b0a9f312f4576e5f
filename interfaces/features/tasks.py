"""The tasks feature: Behflow's tasks, their history and time travel."""

from application.task import TaskCommands
from domain.task import Task
from interfaces.api.routes import history, tasks
from interfaces.feature import Feature, ReadModel, Scope
from interfaces.metrics import Sampled, count_by
from projections.readers import ReaderRule
from projections.task import TaskProjection, TaskQueries

FEATURE = Feature(
    name="tasks",
    handlers=(TaskCommands,),
    read_models=(ReadModel(lambda rules: TaskProjection(), TaskQueries),),
    routers=(tasks.router, history.router),
    scopes=(Scope("/api/v1/tasks", read="tasks:read", write="tasks:write"),),
    readers=(ReaderRule(Task, lambda created: created.owner_id),),
    metrics=(
        Sampled(
            "ledgerflow_tasks", "Live tasks by status", ("status",), count_by("tasks", "status")
        ),
    ),
)
