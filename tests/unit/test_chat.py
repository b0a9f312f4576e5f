"""The chat's reference resolution, its provider hook and the Conversation aggregate."""

from datetime import date
from uuid import uuid4

import pytest

from application.chat import NoProvider, TaskView, resolve
from application.chat_intent import Create
from domain.conversation import Conversation, ConversationNotFound, Role, conversation_id_of
from interfaces.adapters.chat_provider import UnknownChatProvider, chat_provider
from interfaces.settings import Settings


def view(name: str) -> TaskView:
    return TaskView(uuid4(), name, "", "not_started", "medium")


BUDGET, BANK, BANK2 = view("Review the budget"), view("Call the bank"), view("Call the bank!")
TASKS = [BUDGET, BANK, BANK2]


def test_an_exact_name_wins_over_substrings_case_insensitively():
    assert resolve("call the BANK", TASKS, []) == (BANK, [])


def test_a_unique_substring_resolves():
    assert resolve("budget", TASKS, []) == (BUDGET, [])


def test_an_ambiguous_substring_resolves_to_nothing_and_lists_the_candidates():
    assert resolve("call", TASKS, []) == (None, [BANK, BANK2])


def test_hash_n_names_the_nth_task_of_the_last_listing():
    listing = [BANK2.task_id, BUDGET.task_id]
    assert resolve("#2", TASKS, listing) == (BUDGET, [])
    assert resolve("#3", TASKS, listing) == (None, [])


def test_exact_only_refuses_a_substring_and_hash_n():
    assert resolve("budget", TASKS, [], exact_only=True) == (None, [BUDGET])
    assert resolve("#1", TASKS, [BUDGET.task_id], exact_only=True) == (None, [])


def test_a_conversation_id_is_uuid5_of_user_and_session_and_listings_are_remembered():
    owner = uuid4()
    conversation = Conversation.start(owner, "abc-123")
    assert conversation.id == conversation_id_of(owner, "abc-123")
    listed = [uuid4(), uuid4()]
    conversation.post(uuid4(), Role.USER, "show my tasks", "list")
    conversation.post(uuid4(), Role.ASSISTANT, "Your tasks", "list", listed)
    conversation.post(uuid4(), Role.ASSISTANT, "Created", "create", [uuid4()])
    assert conversation.last_listing == listed and conversation.message_count == 3
    conversation.delete()
    with pytest.raises(ConversationNotFound):
        conversation.post(uuid4(), Role.USER, "hello")


class FixedProvider:
    def __init__(self, settings):
        self.settings = settings

    def interpret(self, message, today):
        return Create("From the provider")


def test_the_default_provider_is_none_and_a_factory_path_loads_another():
    assert isinstance(chat_provider(Settings()), NoProvider)
    loaded = chat_provider(Settings(chat_provider=f"{__name__}:FixedProvider"))
    assert loaded.interpret("anything", date(2026, 1, 1)) == Create("From the provider")


@pytest.mark.parametrize("spec", ["openai", "no.such.module:factory", f"{__name__}:Missing"])
def test_an_unknown_provider_is_refused_at_start(spec):
    with pytest.raises(UnknownChatProvider):
        chat_provider(Settings(chat_provider=spec))


class Failing:
    def interpret(self, message, today):
        raise RuntimeError("the model is down")


class WriteModelTasks:
    """A TaskSource over the ledger itself, for tests without a read model."""

    def __init__(self, ledger, ids):
        self.ledger, self.ids = ledger, ids

    def _live(self):
        tasks = [self.ledger.repository.get(i) for i in self.ids]
        return [TaskView.of(t) for t in tasks if not t.deleted]

    def listing(self, owner_id, status, priority, limit):
        found = [t for t in self._live() if status in (None, t.status)]
        found = [t for t in found if priority in (None, t.priority)]
        return found[:limit], len(found)

    def containing(self, owner_id, text, limit):
        return [t for t in self._live() if text.casefold() in t.name.casefold()][:limit]

    def by_ids(self, owner_id, task_ids):
        return [t for t in self._live() if t.task_id in task_ids]


@pytest.fixture
def ledger():
    from application.credential import CredentialVault
    from application.ledger import Ledger
    from application.task import TaskCommands

    app = Ledger(credentials=CredentialVault("secret"))
    app.register(TaskCommands(app))
    yield app
    app.close()


@pytest.mark.parametrize("provider", [NoProvider(), Failing(), FixedProvider(None)])
def test_every_chat_change_goes_through_the_task_commands_with_the_chat_context(ledger, provider):
    from application.chat import ChatCommands
    from application.context import CommandContext, metadata_of

    ledger.register(ChatCommands(ledger, provider))
    owner = uuid4()
    context = CommandContext.for_user(owner, "chat-request")
    chat = ledger[ChatCommands]
    reply = chat.chat(
        context, owner, "create a task to water the plants", "s", WriteModelTasks(ledger, [])
    )
    expected = "From the provider" if isinstance(provider, FixedProvider) else "Water the plants"
    assert [t.name for t in reply.tasks] == [expected]
    task_id = reply.tasks[0].task_id
    [created] = list(ledger.events.get(task_id))
    assert metadata_of(created)["correlation_id"] == "chat-request"
    conversation = chat.conversation(owner, "s")
    assert conversation.message_count == 2 and reply.intent == "create"


@pytest.fixture
def talk(ledger):
    """The chat of a new user over the in-memory ledger, with a source of its tasks."""
    from application.chat import ChatCommands
    from application.context import CommandContext

    ledger.register(ChatCommands(ledger))
    owner = uuid4()
    context = CommandContext.for_user(owner, "chat-request")
    chat = ledger[ChatCommands]
    source = WriteModelTasks(ledger, [])

    def say(message, session="s"):
        reply = chat.chat(context, owner, message, session, source)
        if reply.intent == "create":
            source.ids.extend(t.task_id for t in reply.tasks)
        return reply

    say.chat, say.owner, say.context = chat, owner, context
    return say


def test_a_deleted_session_answers_not_found_instead_of_starting_again(talk):
    talk("help", "gone-session")
    talk.chat.delete_conversation(talk.context, talk.owner, "gone-session")
    with pytest.raises(ConversationNotFound):
        talk("help", "gone-session")
    with pytest.raises(ConversationNotFound):
        talk.chat.conversation(talk.owner, "gone-session")


def test_a_listing_then_hash_n_changes_that_task_through_the_task_commands(talk):
    for name in ("Water the plants", "Feed the cat"):
        talk(f"todo: {name}")
    listed = talk("show my tasks")
    assert [t.name for t in listed.tasks] == ["Water the plants", "Feed the cat"]
    done = talk("mark #2 as done")
    assert (done.tasks[0].name, done.tasks[0].status) == ("Feed the cat", "completed")
    unknown = talk("mark #9 as done")
    assert unknown.tasks == [] and "no task" in unknown.response
