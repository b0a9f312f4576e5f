"""The User aggregate and the username claim."""

import pytest

from domain.error import InvalidValue
from domain.user import User, Username, normalise_username


def test_registering_records_user_registered_with_the_profile():
    user = User.register(" johndoe ", "John", "Doe", "sealed-credential")
    events = user.collect_events()
    assert [type(e).TOPIC for e in events] == ["user.registered"]
    assert (user.username, user.name, user.lastname) == ("johndoe", "John", "Doe")


@pytest.mark.parametrize("username", ["", "ab", "x" * 65, "john doe", "-john", "jo hn"])
def test_a_malformed_username_is_refused(username):
    with pytest.raises(InvalidValue):
        User.register(username, "", "", "sealed")


def test_a_name_that_is_too_long_is_refused():
    with pytest.raises(InvalidValue) as refused:
        User.register("johndoe", "x" * 101, "", "sealed")
    assert refused.value.field == "name"


def test_a_claim_id_is_the_same_for_every_spelling_of_a_username():
    assert Username.create_id("JohnDoe") == Username.create_id(" johndoe")
    assert Username.create_id("johndoe") != Username.create_id("janedoe")
    assert normalise_username("JohnDoe") == "johndoe"


def test_a_claim_records_username_claimed_for_the_user():
    user = User.register("johndoe", "", "", "sealed")
    claim = Username.claim("johndoe", user.id)
    assert claim.id == Username.create_id("johndoe") and claim.user_id == user.id
    assert [type(e).TOPIC for e in claim.collect_events()] == ["username.claimed"]
