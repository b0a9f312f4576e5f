"""The AgentMessage aggregate: sent once, read once."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.agent_message import AgentMessage
from domain.error import InvalidValue


def test_a_message_is_read_once_and_keeps_the_first_time():
    message = AgentMessage.send(uuid4(), uuid4(), uuid4(), "build", "s", "body")
    first = datetime(2026, 12, 1, tzinfo=UTC)
    message.mark_read(first)
    message.mark_read(first + timedelta(hours=1))
    assert message.read_at == first
    assert [type(e).TOPIC for e in message.collect_events()] == ["message.sent", "message.read"]


@pytest.mark.parametrize(
    ("field", "values"), [("body", {"body": " "}), ("channel", {"channel": ""})]
)
def test_an_empty_body_or_channel_is_refused(field, values):
    with pytest.raises(InvalidValue) as refused:
        AgentMessage.send(uuid4(), uuid4(), uuid4(), **({"body": "b"} | values))
    assert refused.value.field == field
