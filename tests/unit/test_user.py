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


def test_a_new_user_is_an_active_member():
    user = User.register("johndoe", "", "", "sealed")
    assert (user.role, user.active) == ("member", True)


def test_role_changes_record_from_and_to_and_refuse_unknown_roles():
    user = User.register("johndoe", "", "", "sealed")
    user.collect_events()
    user.change_role("viewer")
    user.change_role("viewer")
    events = user.collect_events()
    assert [(type(e).TOPIC, e.from_role, e.to_role) for e in events] == [
        ("user.role_changed", "member", "viewer")
    ]
    with pytest.raises(InvalidValue):
        user.change_role("superuser")


def test_deactivation_and_reactivation_are_idempotent_events():
    user = User.register("johndoe", "", "", "sealed")
    user.collect_events()
    user.deactivate()
    user.deactivate()
    user.reactivate()
    user.reactivate()
    assert [type(e).TOPIC for e in user.collect_events()] == [
        "user.deactivated",
        "user.reactivated",
    ]
    assert user.active


def test_a_profile_update_records_only_what_changes():
    user = User.register("johndoe", "John", "Doe", "sealed")
    user.collect_events()
    user.update_profile(name="John", lastname="Smith")
    events = user.collect_events()
    assert [e.changes for e in events] == [{"lastname": "Smith"}]
    with pytest.raises(InvalidValue):
        user.update_profile(name="x" * 101)


def test_the_admin_seat_has_one_fixed_id():
    from uuid import uuid4

    from domain.user import AdminSeat

    assert AdminSeat.claim(uuid4()).id == AdminSeat.claim(uuid4()).id == AdminSeat.ID
