"""The chat's deterministic intent parser: one message in, one intent out, no I/O.

It understands a small English command language, case-insensitively: create a task (with
priority words, a due date and ``#tags``), list tasks (with status and priority words), change a
task's status or priority, delete a task, and help. Anything else, or a command it cannot complete
(no task name, "delete all"), becomes ``Ask`` with a sentence telling the user what to say instead.
The phrasings are in docs/chat.md; ``tests/unit/test_chat_intent.py`` is the table of examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STATUS_WORDS = {
    "done": "completed",
    "complete": "completed",
    "completed": "completed",
    "finished": "completed",
    "in progress": "in_progress",
    "in-progress": "in_progress",
    "started": "in_progress",
    "active": "in_progress",
    "ongoing": "in_progress",
    "blocked": "blocked",
    "stuck": "blocked",
    "not started": "not_started",
    "pending": "not_started",
    "open": "not_started",
    "todo": "not_started",
    "to do": "not_started",
}
PRIORITY_WORDS = {"urgent": "urgent", "high": "high", "medium": "medium", "normal": "medium"}
PRIORITY_WORDS["low"] = "low"
_STATUS = "|".join(sorted(map(re.escape, STATUS_WORDS), key=len, reverse=True))
_PRIORITY = "|".join(PRIORITY_WORDS)
_DAY = "|".join(WEEKDAYS)
_DATE = rf"today|tomorrow|(?:next\s+)?(?:{_DAY})|\d{{4}}-\d{{2}}-\d{{2}}|in\s+\d{{1,3}}\s+days?"
_I = re.IGNORECASE


@dataclass(frozen=True)
class Create:
    """Create a task."""

    name: str
    priority: str = "medium"
    due: date | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class List:
    """List tasks, optionally filtered."""

    status: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class ChangeStatus:
    """Move a referenced task to a status."""

    ref: str
    status: str


@dataclass(frozen=True)
class ChangePriority:
    """Give a referenced task a priority."""

    ref: str
    priority: str


@dataclass(frozen=True)
class Delete:
    """Delete a task named exactly."""

    ref: str


@dataclass(frozen=True)
class Help:
    """Explain what the chat understands."""


@dataclass(frozen=True)
class Ask:
    """The message cannot be carried out as said; ``question`` says what to say instead."""

    question: str


Intent = Create | List | ChangeStatus | ChangePriority | Delete | Help | Ask

_CREATE = (
    re.compile(
        r"^(?:please\s+)?(?:can you\s+|could you\s+)?(?:create|add|make|new|open)\s+"
        r"(?:me\s+)?(?:a\s+|an\s+|another\s+)?(?:new\s+)?(?P<pre>(?:\S+\s+){0,2}?)task\b"
        r"\s*(?:to|for|called|named|titled|:|-)?\s*(?P<rest>.*)$",
        _I,
    ),
    re.compile(r"^(?:please\s+)?remind me to\s+(?P<rest>.+)$", _I),
    re.compile(r"^(?:todo|to-do|to do)\s*:\s*(?P<rest>.*)$", _I),
    re.compile(r"^new\s*:\s*(?P<rest>.*)$", _I),
)
_HELP = re.compile(r"^(?:help|\?|what can you do|commands|how does this work|hi|hello)$", _I)
_DELETE_ALL = re.compile(r"^(?:delete|remove)\s+(?:all|every|everything)\b", _I)
_DELETE = re.compile(r"^(?:delete|remove|drop)\s+(?:the\s+)?(?:task\s+)?(?P<ref>.+)$", _I)
_LIST = (
    re.compile(
        r"^(?:show|list|display|get|give|see)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:my\s+)?"
        r"(?P<pre>.*?)\s*\btasks?\b(?P<post>.*)$",
        _I,
    ),
    re.compile(r"^what(?:'s| is| are)\s+(?:my\s+)?(?P<pre>.*?)\s*\btasks?\b(?P<post>.*)$", _I),
    re.compile(r"^what\s+tasks\s+(?P<post>.*)$", _I),
    re.compile(r"^(?:my\s+)?(?P<pre>.*?)\s*\btasks\b(?P<post>)$", _I),
)
_PRIORITY_CHANGES = (
    re.compile(
        rf"^(?:set|change)\s+(?:the\s+)?priority\s+(?:of\s+)?(?P<ref>.+?)\s+to\s+(?P<p>{_PRIORITY})$",
        _I,
    ),
    re.compile(
        rf"^(?:make|set|mark)\s+(?P<ref>.+?)\s+(?:to\s+|as\s+)?(?P<p>{_PRIORITY})"
        r"(?:\s+priority)?$",
        _I,
    ),
    re.compile(rf"^(?:set|change)\s+(?P<ref>.+?)\s+priority\s+to\s+(?P<p>{_PRIORITY})$", _I),
    re.compile(r"^(?P<p>prioriti[sz]e)\s+(?P<ref>.+)$", _I),
)
_STATUS_CHANGES = (
    (re.compile(rf"^mark\s+(?P<ref>.+?)\s+(?:as\s+)?(?P<s>{_STATUS})$", _I), None),
    (re.compile(r"^(?:start working on|work on|start|begin)\s+(?P<ref>.+)$", _I), "in_progress"),
    (re.compile(r"^(?:complete|finish|close)\s+(?P<ref>.+)$", _I), "completed"),
    (re.compile(r"^(?:block)\s+(?P<ref>.+)$", _I), "blocked"),
    (re.compile(r"^(?:reopen|unblock|reset)\s+(?P<ref>.+)$", _I), "not_started"),
    (re.compile(r"^(?:i(?:'ve| have)\s+)?(?:finished|completed|done)\s+(?P<ref>.+)$", _I), None),
    (
        re.compile(
            rf"^(?P<ref>.+?)\s+is\s+(?:now\s+)?(?:(?:marked\s+)?as\s+)?(?P<s>{_STATUS})$", _I
        ),
        None,
    ),
)
_TAG = re.compile(r"(?<![\w#])#(?P<tag>[A-Za-z][\w-]{0,49})")
_DUE = re.compile(rf"[,;]?\s*\b(?:by|due(?:\s+on|\s+by)?)\s+(?P<when>{_DATE})\b", _I)
_PRIORITY_IN_NAME = (
    (
        re.compile(
            r"[,;]?\s*\b(?:with\s+)?(?:a\s+)?(?P<p>urgent|high|medium|normal|low)\s+priority\b", _I
        ),
        None,
    ),
    (re.compile(r"[,;]?\s*\bpriority\s*[:=]?\s*(?P<p>urgent|high|medium|normal|low)\b", _I), None),
    (re.compile(r"[,;]?\s*\b(?:urgent(?:ly)?|asap)\b", _I), "urgent"),
    (re.compile(r"[,;]?\s*\bimportant\b", _I), "high"),
)
HELP_TEXT = (
    "I can manage your tasks. Try: "
    '"create a task to review the budget by friday #finance", '
    '"add an urgent task called Call the bank", '
    '"show my tasks", "list blocked tasks", "show high priority tasks", '
    '"mark #1 as done", "start Review the budget", "Call the bank is blocked", '
    '"make Call the bank low priority", '
    '"delete task Call the bank" (the exact name).'
)


def parse(message: str, today: date) -> Intent:
    """The intent of one chat message (``today`` resolves relative due dates)."""
    text = " ".join(message.split()).strip().rstrip(".!?").strip()
    if not text:
        return Ask("Say what you want to do. " + HELP_TEXT)
    for parser in (_create, _help, _delete, _list, _priority_change, _status_change):
        found = parser(text, today)
        if found is not None:
            return found
    return Ask("I did not understand that. " + HELP_TEXT)


def _create(text: str, today: date) -> Intent | None:
    for pattern in _CREATE:
        match = pattern.match(text)
        if match is None:
            continue
        pre = (match.groupdict().get("pre") or "").strip()
        if pre and not _priority_of(pre):
            continue  # "make X task ..." is not a creation unless X is a priority word
        return _creation(match.group("rest"), _priority_of(pre), today)
    return None


def _creation(rest: str, priority: str | None, today: date) -> Intent:
    tags = tuple(dict.fromkeys(m.group("tag") for m in _TAG.finditer(rest)))
    rest = _TAG.sub("", rest)
    due = None
    found = _DUE.search(rest)
    if found is not None:
        try:
            due = due_date(found.group("when"), today)
        except ValueError:
            return Ask(f"{found.group('when')} is not a date I know; use YYYY-MM-DD.")
        rest = rest[: found.start()] + rest[found.end() :]
    for pattern, value in _PRIORITY_IN_NAME:
        hit = pattern.search(rest)
        if hit is not None:
            priority = priority or value or PRIORITY_WORDS[hit.group("p").lower()]
            rest = rest[: hit.start()] + rest[hit.end() :]
    name = _clean_name(rest)
    if not name:
        return Ask('What should the task be called? Try: "create a task to review the budget".')
    return Create(name, priority or "medium", due, tags)


def _clean_name(rest: str) -> str:
    name = " ".join(rest.split()).strip(" ,;:-\"'")
    name = re.sub(r"\s+(?:and|with|,)$", "", name, flags=_I).strip(" ,;:-\"'")
    return name[:1].upper() + name[1:]


def _priority_of(words: str) -> str | None:
    lowered = words.lower().replace("-", " ").split()
    for word in lowered:
        if word in PRIORITY_WORDS:
            return PRIORITY_WORDS[word]
        if word == "important":
            return "high"
    return None


def _help(text: str, today: date) -> Intent | None:
    return Help() if _HELP.match(text) else None


def _delete(text: str, today: date) -> Intent | None:
    if _DELETE_ALL.match(text):
        return Ask('I delete one task at a time, named exactly: "delete task <name>".')
    match = _DELETE.match(text)
    return Delete(_clean_ref(match.group("ref"))) if match else None


def _list(text: str, today: date) -> Intent | None:
    for pattern in _LIST:
        match = pattern.match(text)
        if match is None:
            continue
        words = " ".join(v for v in match.groupdict().values() if v).lower()
        return List(_status_in(words), _priority_of(words.replace("priority", "")))
    return None


def _status_in(words: str) -> str | None:
    for word in sorted(STATUS_WORDS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", words):
            return STATUS_WORDS[word]
    return None


def _priority_change(text: str, today: date) -> Intent | None:
    for pattern in _PRIORITY_CHANGES:
        match = pattern.match(text)
        if match is not None:
            word = match.group("p").lower()
            priority = "high" if word.startswith("priorit") else PRIORITY_WORDS[word]
            return ChangePriority(_clean_ref(match.group("ref")), priority)
    return None


def _status_change(text: str, today: date) -> Intent | None:
    for pattern, status in _STATUS_CHANGES:
        match = pattern.match(text)
        if match is not None:
            given = match.groupdict().get("s")
            chosen = STATUS_WORDS[given.lower()] if given else status or "completed"
            return ChangeStatus(_clean_ref(match.group("ref")), chosen)
    return None


def _clean_ref(ref: str) -> str:
    ref = ref.strip().strip("\"'“”")
    ref = re.sub(r"^(?:the\s+)?(?:task\s+)", "", ref, flags=_I)
    ref = re.sub(r"^the\s+", "", ref, flags=_I)
    ref = re.sub(r"\s+task$", "", ref, flags=_I)
    return ref.strip().strip("\"'“”")


def due_date(when: str, today: date) -> date:
    """The date a due phrase names: today, tomorrow, [next] <weekday>, in N days, or ISO."""
    when = " ".join(when.lower().split())
    if when == "today":
        return today
    if when == "tomorrow":
        return today + timedelta(days=1)
    if when.startswith("in "):
        return today + timedelta(days=int(when.split()[1]))
    day = when.removeprefix("next ").strip()
    if day in WEEKDAYS:
        ahead = (WEEKDAYS.index(day) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return date.fromisoformat(when)
