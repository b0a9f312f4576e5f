"""Chat commands: a message in a conversation becomes ordinary task commands and an answer.

The intent comes from the optional provider (an LLM behind ``ChatProvider``) and, when it has none
or gives up, from the deterministic parser. Every change goes through ``TaskCommands`` with the
chat's own ``CommandContext``, so it is audited and correlated like any other command. The user's
message and the answer are recorded as events of the Conversation; an answer that lists tasks is
what ``#n`` refers to in the next messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from application.chat_intent import (
    HELP_TEXT,
    Ask,
    ChangePriority,
    ChangeStatus,
    Create,
    Delete,
    Help,
    Intent,
    List,
    parse,
)
from application.context import CommandContext
from application.handlers import Handlers
from application.result import Written
from application.task import TaskCommands
from domain.conversation import (
    Conversation,
    ConversationExists,
    ConversationNotFound,
    Role,
    conversation_id_of,
)
from domain.ids import new_id
from domain.task import Task

if TYPE_CHECKING:
    from application.ledger import Ledger

LISTED = 20


@dataclass(frozen=True)
class TaskView:
    """A task as the chat shows it (Behflow's chat answer)."""

    task_id: UUID
    name: str
    description: str
    status: str
    priority: str

    @classmethod
    def of(cls, task: Task) -> TaskView:
        """The view of an aggregate's current state."""
        return cls(task.id, task.name, task.description, task.status, task.priority)


class TaskSource(Protocol):
    """The user's tasks as the chat reads them (a read model)."""

    def listing(
        self, owner_id: UUID, status: str | None, priority: str | None, limit: int
    ) -> tuple[list[TaskView], int]:
        """Up to ``limit`` of the owner's tasks, newest first, filtered; and how many match."""

    def containing(self, owner_id: UUID, text: str, limit: int) -> list[TaskView]:
        """Up to ``limit`` tasks whose name contains ``text`` (case-insensitive), those named
        exactly ``text`` first."""

    def by_ids(self, owner_id: UUID, task_ids: Sequence[UUID]) -> list[TaskView]:
        """The owner's live tasks among ``task_ids``."""


class ChatProvider(Protocol):
    """An optional interpreter of messages (an LLM); None means "let the parser decide"."""

    def interpret(self, message: str, today: date) -> Intent | None:
        """The intent of ``message``, or None."""


class NoProvider:
    """The default: no LLM, the deterministic parser only."""

    def interpret(self, message: str, today: date) -> Intent | None:
        """Always None."""
        return None


@dataclass
class ChatReply:
    """What one chat message did: the answer, the tasks it concerns, and where it was recorded."""

    response: str
    session_id: str
    conversation_id: UUID
    intent: str
    tasks: list[TaskView]
    message_ids: tuple[UUID, UUID]
    position: int = 0


@dataclass
class _Outcome:
    response: str
    tasks: list[TaskView] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


class ChatCommands(Handlers):
    """The handlers of the chat feature."""

    def __init__(self, ledger: Ledger, provider: ChatProvider | None = None) -> None:
        super().__init__(ledger)
        self.provider: ChatProvider = provider or NoProvider()

    def start_conversation(
        self, context: CommandContext, owner_id: UUID, session_id: str | None, title: str = ""
    ) -> Written[Conversation]:
        """Start a conversation (a new session id when none is given); 409 if it exists."""
        session = session_id or str(new_id())
        conversation = Conversation.start(owner_id, session, title)
        try:
            self._load(Conversation, conversation.id, ConversationNotFound)
        except ConversationNotFound:
            return Written(conversation, self._commit(context, conversation))
        raise ConversationExists(session)

    def conversation(self, owner_id: UUID, key: str) -> Conversation:
        """The owner's conversation named by its id or its session id."""
        for candidate in _ids_of(owner_id, key):
            try:
                found = self._load(Conversation, candidate, ConversationNotFound)
            except ConversationNotFound:
                continue
            if found.visible_to(owner_id):
                return found
        raise ConversationNotFound(key)

    def delete_conversation(
        self, context: CommandContext, owner_id: UUID, key: str
    ) -> Written[Conversation]:
        """Delete a conversation; the tasks it created remain."""
        found = self.conversation(owner_id, key)
        return self._change(
            context, lambda: self.conversation(owner_id, key), found.id, None, Conversation.delete
        )

    def chat(
        self,
        context: CommandContext,
        owner_id: UUID,
        message: str,
        session_id: str | None,
        tasks: TaskSource,
        today: date | None = None,
    ) -> ChatReply:
        """Answer one message of the session (started if new), changing tasks as it asks."""
        today = today or datetime.now(UTC).date()
        conversation = self._open(owner_id, session_id)
        intent = self._intent(message, today)
        outcome = self._carry_out(context, owner_id, intent, conversation.last_listing, tasks)
        asked, answered = new_id(), new_id()
        kind = _name_of(intent)
        task_ids = [t.task_id for t in outcome.tasks]
        conversation.post(asked, Role.USER, message, kind)
        conversation.post(answered, Role.ASSISTANT, outcome.response, kind, task_ids)
        position = self._commit(context, conversation)
        return ChatReply(
            outcome.response,
            conversation.session_id,
            conversation.id,
            kind,
            outcome.tasks,
            (asked, answered),
            max([position, *outcome.positions]),
        )

    def _open(self, owner_id: UUID, session_id: str | None) -> Conversation:
        if session_id is None:
            return Conversation.start(owner_id, str(new_id()))
        try:
            return self.conversation(owner_id, session_id)
        except ConversationNotFound:
            started = Conversation.start(owner_id, session_id)
        try:  # a deleted session stays deleted: its id cannot be started again
            self._load(Conversation, started.id, ConversationNotFound)
        except ConversationNotFound:
            return started
        raise ConversationNotFound(session_id)

    def _intent(self, message: str, today: date) -> Intent:
        try:
            found = self.provider.interpret(message, today)
        except Exception:  # the parser is the fallback for any provider failure
            found = None
        return found if found is not None else parse(message, today)

    def _carry_out(
        self,
        context: CommandContext,
        owner_id: UUID,
        intent: Intent,
        listing: Sequence[UUID],
        source: TaskSource,
    ) -> _Outcome:
        commands = self.ledger[TaskCommands]
        if isinstance(intent, Create):
            due = datetime.combine(intent.due, time(23, 59, 59), UTC) if intent.due else None
            written = commands.create_task(
                context, owner_id, intent.name, "", intent.priority, due, intent.tags
            )
            return _Outcome(f'Created task "{written.aggregate.name}".', *_written(written))
        if isinstance(intent, List):
            return _listing(*source.listing(owner_id, intent.status, intent.priority, LISTED))
        if isinstance(intent, ChangeStatus | ChangePriority | Delete):
            return self._change_referenced(context, owner_id, intent, listing, source)
        if isinstance(intent, Ask):
            return _Outcome(intent.question)
        return _Outcome(HELP_TEXT)

    def _change_referenced(
        self,
        context: CommandContext,
        owner_id: UUID,
        intent: ChangeStatus | ChangePriority | Delete,
        listing: Sequence[UUID],
        source: TaskSource,
    ) -> _Outcome:
        exact_only = isinstance(intent, Delete)
        if intent.ref.startswith("#"):
            named = source.by_ids(owner_id, listing)
        else:  # one more than we show: "could be any of" must not hide that there are more
            named = source.containing(owner_id, intent.ref, LISTED + 1)
        found, candidates = resolve(intent.ref, named, listing, exact_only=exact_only)
        if found is None:
            return _unresolved(intent.ref, candidates, exact_only)
        commands = self.ledger[TaskCommands]
        if isinstance(intent, Delete):
            written = commands.delete_task(context, owner_id, found.task_id)
            return _Outcome(f'Deleted task "{found.name}".', [found], [written.position])
        if isinstance(intent, ChangeStatus):
            changes, said = {"status": intent.status}, intent.status.replace("_", " ")
        else:
            changes, said = {"priority": intent.priority}, f"{intent.priority} priority"
        written = commands.update_task(context, owner_id, found.task_id, changes)
        return _Outcome(f'Task "{found.name}" is now {said}.', *_written(written))


def resolve(
    ref: str, tasks: Sequence[TaskView], listing: Sequence[UUID], *, exact_only: bool = False
) -> tuple[TaskView | None, list[TaskView]]:
    """The task ``ref`` names (exact name, else a unique substring, else ``#n`` of the last
    listing) and, when none is certain, the candidates."""
    by_id = {t.task_id: t for t in tasks}
    wanted = ref.casefold().strip()
    if wanted.startswith("#") and wanted[1:].isdigit() and not exact_only:
        index = int(wanted[1:]) - 1
        chosen = by_id.get(listing[index]) if 0 <= index < len(listing) else None
        return chosen, []
    exact = [t for t in tasks if t.name.casefold() == wanted]
    if len(exact) == 1:
        return exact[0], []
    if exact:
        return None, exact
    partial = [t for t in tasks if wanted and wanted in t.name.casefold()]
    if len(partial) == 1 and not exact_only:
        return partial[0], []
    return None, partial


def _unresolved(ref: str, candidates: list[TaskView], exact_only: bool) -> _Outcome:
    if not candidates:
        return _Outcome(f'I found no task matching "{ref}". Say "show my tasks" to see them.')
    shown = candidates[:LISTED]
    names = ", ".join(f'"{t.name}"' for t in shown)
    if len(candidates) > LISTED:
        names += " and more"
    if exact_only and len(candidates) == 1:
        return _Outcome(f"I delete only a task named exactly. Did you mean {names}?", shown)
    return _Outcome(f'"{ref}" could be any of: {names}. Nothing was changed.', shown)


def _listing(shown: list[TaskView], total: int) -> _Outcome:
    if not shown:
        return _Outcome("You have no tasks matching that.")
    lines = [
        f"#{n} {t.name} ({t.status.replace('_', ' ')}, {t.priority})"
        for n, t in enumerate(shown, 1)
    ]
    more = f" (showing {len(shown)} of {total})" if total > len(shown) else ""
    return _Outcome(f"Your tasks{more}:\n" + "\n".join(lines), shown)


def _written(written: Written[Task]) -> tuple[list[TaskView], list[int]]:
    return [TaskView.of(written.aggregate)], [written.position]


def _name_of(intent: Intent) -> str:
    return {
        Create: "create",
        List: "list",
        ChangeStatus: "status",
        ChangePriority: "priority",
        Delete: "delete",
        Help: "help",
        Ask: "ask",
    }[type(intent)]


def _ids_of(owner_id: UUID, key: str) -> list[UUID]:
    try:
        direct = [UUID(key)]
    except ValueError:
        direct = []
    return [*direct, conversation_id_of(owner_id, key)]
