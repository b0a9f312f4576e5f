"""The chat's intent parser: a table of phrasings and what each one means."""

from datetime import date

import pytest
from freezegun import freeze_time

from application.chat_intent import (
    Ask,
    ChangePriority,
    ChangeStatus,
    Create,
    Delete,
    Help,
    List,
    parse,
)

TODAY = date(2026, 12, 1)  # a Tuesday

CASES = [
    # create
    ("Create a task to review project documentation", Create("Review project documentation")),
    ("create a task to review project documentation", Create("Review project documentation")),
    ("CREATE A TASK TO Review the budget", Create("Review the budget")),
    ("add a task called Pay rent", Create("Pay rent")),
    ("add task: buy milk", Create("Buy milk")),
    ("new task: call mom", Create("Call mom")),
    ("make a task to water the plants", Create("Water the plants")),
    ("make a new task named Quarterly report", Create("Quarterly report")),
    ("please create a task for the release notes", Create("The release notes")),
    ("remind me to call the dentist", Create("Call the dentist")),
    ("todo: renew passport", Create("Renew passport")),
    ("Create an urgent task to fix the login bug", Create("Fix the login bug", "urgent")),
    ("create a high priority task to ship v2", Create("Ship v2", "high")),
    ("create a low-priority task to tidy the wiki", Create("Tidy the wiki", "low")),
    ("add an important task to prepare the demo", Create("Prepare the demo", "high")),
    ("create a task to fix the printer, urgent", Create("Fix the printer", "urgent")),
    ("create a task to plan the offsite with low priority", Create("Plan the offsite", "low")),
    ("add a task to call the bank priority: high", Create("Call the bank", "high")),
    ("create a task to send invoices by tomorrow", Create("Send invoices", due=date(2026, 12, 2))),
    ("create a task to file taxes due 2026-12-24", Create("File taxes", due=date(2026, 12, 24))),
    ("create a task to book flights by next friday", Create("Book flights", due=date(2026, 12, 4))),
    ("add a task to clean up by today", Create("Clean up", due=TODAY)),
    ("add a task to pay rent by tuesday", Create("Pay rent", due=date(2026, 12, 8))),
    (
        "add a task to renew the domain due in 10 days",
        Create("Renew the domain", due=date(2026, 12, 11)),
    ),
    ("create a task to write tests #dev #qa", Create("Write tests", tags=("dev", "qa"))),
    (
        "Create an urgent task to deploy hotfix by tomorrow #ops",
        Create("Deploy hotfix", "urgent", date(2026, 12, 2), ("ops",)),
    ),
    ("add a task to read #books #books", Create("Read", tags=("books",))),
    # create, but something is missing or wrong
    ("create a task", Ask),
    ("add a task to", Ask),
    ("create a task #work", Ask),
    ("create a task to pay the bill due 2026-13-45", Ask),
    # list
    ("show my tasks", List()),
    ("Show tasks", List()),
    ("list tasks", List()),
    ("list my tasks", List()),
    ("what are my tasks", List()),
    ("my tasks", List()),
    ("tasks", List()),
    ("show my completed tasks", List("completed")),
    ("list blocked tasks", List("blocked")),
    ("show tasks in progress", List("in_progress")),
    ("show me all my done tasks", List("completed")),
    ("list open tasks", List("not_started")),
    ("show my urgent tasks", List(priority="urgent")),
    ("show high priority tasks", List(priority="high")),
    ("list low priority blocked tasks", List("blocked", "low")),
    ("what tasks are blocked", List("blocked")),
    ("what are my high priority tasks in progress?", List("in_progress", "high")),
    # status changes
    (
        "mark Review project documentation as done",
        ChangeStatus("Review project documentation", "completed"),
    ),
    ("Mark #1 as completed", ChangeStatus("#1", "completed")),
    ("mark #2 complete", ChangeStatus("#2", "completed")),
    ("mark the budget as in progress", ChangeStatus("budget", "in_progress")),
    ("mark task Pay rent as blocked", ChangeStatus("Pay rent", "blocked")),
    ("start Pay rent", ChangeStatus("Pay rent", "in_progress")),
    ("start working on the budget", ChangeStatus("budget", "in_progress")),
    ("complete Pay rent", ChangeStatus("Pay rent", "completed")),
    ("finish #3", ChangeStatus("#3", "completed")),
    ("Pay rent is blocked", ChangeStatus("Pay rent", "blocked")),
    ("the budget is done", ChangeStatus("budget", "completed")),
    ("Pay rent is now in progress!", ChangeStatus("Pay rent", "in_progress")),
    ("reopen Pay rent", ChangeStatus("Pay rent", "not_started")),
    ("I have finished the budget", ChangeStatus("budget", "completed")),
    ('block "Pay rent"', ChangeStatus("Pay rent", "blocked")),
    # priority changes
    ("make Pay rent urgent", ChangePriority("Pay rent", "urgent")),
    ("make Pay rent high priority", ChangePriority("Pay rent", "high")),
    ("set #2 to low", ChangePriority("#2", "low")),
    ("set the priority of Pay rent to medium", ChangePriority("Pay rent", "medium")),
    ("change Pay rent priority to high", ChangePriority("Pay rent", "high")),
    ("prioritize the budget", ChangePriority("budget", "high")),
    ("mark Pay rent as urgent", ChangePriority("Pay rent", "urgent")),
    # delete
    ("delete task Pay rent", Delete("Pay rent")),
    ("Delete the task Pay rent", Delete("Pay rent")),
    ("remove Pay rent", Delete("Pay rent")),
    ("delete #1", Delete("#1")),
    ("delete all tasks", Ask),
    ("remove everything", Ask),
    # help and what it refuses
    ("help", Help()),
    ("Help!", Help()),
    ("what can you do?", Help()),
    ("hello", Help()),
    ("", Ask),
    ("   ", Ask),
    ("what is the weather like", Ask),
    ("tell me a joke", Ask),
    ("drop table tasks; --", Delete("table tasks; --")),
]


@pytest.mark.parametrize(("message", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_a_message_means_one_intent(message, expected):
    found = parse(message, TODAY)
    if isinstance(expected, type):
        assert isinstance(found, expected)
        assert found.question
    else:
        assert found == expected


def test_the_table_has_at_least_sixty_phrasings():
    assert len(CASES) >= 60


@freeze_time("2026-12-04")  # a Friday: "next friday" is a week away, never today
def test_next_friday_on_a_friday_is_a_week_later():
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    assert parse("create a task to demo by next friday", today) == Create(
        "Demo", due=date(2026, 12, 11)
    )


def test_a_name_keeps_its_case_after_the_first_letter():
    assert parse("add a task to email McKinsey about API v2", TODAY) == Create(
        "Email McKinsey about API v2"
    )
