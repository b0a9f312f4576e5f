"""Account commands on the in-memory persistence: first admin, roles, deactivation, passwords."""

import pytest
from argon2 import PasswordHasher

from application.accounts import AccountCommands
from application.context import CommandContext
from application.credential import CredentialVault
from application.error import InvalidCredentials, NotAllowed
from application.ledger import Ledger
from application.mfa import MfaCommands
from application.principal import Principal
from application.sessions import SessionCommands
from domain.error import InvalidValue
from domain.user import EmailTaken, UsernameTaken

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CTX = CommandContext(actor="system:test")


@pytest.fixture
def ledger():
    app = Ledger(credentials=CredentialVault("secret-" * 5, hasher=FAST))
    yield app
    app.close()


def register(ledger, username, role=None):
    return (
        ledger[AccountCommands]
        .register_user(CTX, username, "securepass123", "", "", role)
        .aggregate
    )


def as_principal(user):
    return Principal(user.id, user.role)


def test_only_the_first_registered_user_becomes_admin(ledger):
    first, second = register(ledger, "first"), register(ledger, "second")
    assert (first.role, second.role) == ("admin", "member")
    assert ledger[AccountCommands].get_user(first.id).role == "admin"


def test_a_username_taken_after_the_admin_seat_is_still_refused(ledger):
    register(ledger, "first")
    with pytest.raises(UsernameTaken):
        register(ledger, "FIRST")


def test_an_admin_creates_users_with_a_role_and_a_member_cannot(ledger):
    admin, member = register(ledger, "admin1"), register(ledger, "member1")
    viewer = (
        ledger[AccountCommands]
        .create_user(CTX, as_principal(admin), "viewer1", "securepass123", "", "", "viewer")
        .aggregate
    )
    assert viewer.role == "viewer"
    with pytest.raises(NotAllowed):
        ledger[AccountCommands].create_user(
            CTX, as_principal(member), "x_user", "securepass123", "", "", "admin"
        )


def test_a_deactivated_user_cannot_authenticate_until_reactivated(ledger):
    admin, member = register(ledger, "admin1"), register(ledger, "member1")
    ledger[AccountCommands].administer_user(CTX, as_principal(admin), member.id, active=False)
    with pytest.raises(InvalidCredentials):
        ledger[AccountCommands].authenticate("member1", "securepass123")
    ledger[AccountCommands].administer_user(CTX, as_principal(admin), member.id, active=True)
    assert ledger[AccountCommands].authenticate("member1", "securepass123").id == member.id


def test_an_admin_cannot_lock_themselves_out(ledger):
    admin = register(ledger, "admin1")
    with pytest.raises(NotAllowed):
        ledger[AccountCommands].administer_user(CTX, as_principal(admin), admin.id, active=False)
    with pytest.raises(NotAllowed):
        ledger[AccountCommands].administer_user(CTX, as_principal(admin), admin.id, role="viewer")
    assert ledger[AccountCommands].get_user(admin.id).role == "admin"


def test_changing_a_password_requires_the_old_one_and_the_policy(ledger):
    user = register(ledger, "admin1")
    with pytest.raises(InvalidCredentials):
        ledger[AccountCommands].change_password(CTX, user.id, "wrong-old", "new-password-1")
    from application.error import WeakPassword

    with pytest.raises(WeakPassword):
        ledger[AccountCommands].change_password(CTX, user.id, "securepass123", "short")
    ledger[AccountCommands].change_password(CTX, user.id, "securepass123", "new-password-1")
    assert ledger[AccountCommands].authenticate("admin1", "new-password-1").id == user.id
    with pytest.raises(InvalidCredentials):
        ledger[AccountCommands].authenticate("admin1", "securepass123")


def test_a_viewer_principal_may_not_write():
    from uuid import uuid4

    with pytest.raises(NotAllowed):
        Principal(uuid4(), "viewer").require_writer()
    Principal(uuid4(), "member").require_writer()


def test_refresh_secrets_never_appear_in_the_event_log(ledger):
    user = register(ledger, "admin1")
    _, refresh = ledger[SessionCommands].start_session(CTX, user)
    _, rotated, _ = ledger[SessionCommands].refresh_session(CTX, refresh)
    states = b"".join(n.state for n in ledger.recorder.select_notifications(start=1, limit=100))
    for token in (refresh, rotated):
        assert token.partition(".")[2].encode() not in states


def test_a_session_of_a_deactivated_user_cannot_be_refreshed(ledger):
    from application.error import InvalidToken

    admin, member = register(ledger, "admin1"), register(ledger, "member1")
    _, refresh = ledger[SessionCommands].start_session(CTX, member)
    ledger[AccountCommands].administer_user(CTX, as_principal(admin), member.id, active=False)
    with pytest.raises(InvalidToken):
        ledger[SessionCommands].refresh_session(CTX, refresh)


def test_the_totp_secret_is_sealed_in_the_event_log_and_never_in_an_envelope(ledger):
    import json

    from projections.envelope import envelope

    user = register(ledger, "admin1")
    secret, _ = ledger[MfaCommands].begin_mfa_setup(CTX, user.id)
    notifications = ledger.recorder.select_notifications(start=1, limit=100)
    assert secret.encode() not in b"".join(n.state for n in notifications)
    for notification in notifications:
        out = json.dumps(envelope(ledger.mapper.to_domain_event(notification), notification.id))
        assert secret not in out and "sealed_totp_secret" not in out


def test_an_account_with_an_email_signs_in_by_email_or_username(ledger):
    accounts = ledger[AccountCommands]
    user = accounts.register_user(
        CTX, "ann", "securepass123", "Ann", "", email=" Ann@Example.com "
    ).aggregate
    assert user.email == "Ann@Example.com"
    assert accounts.authenticate("ann@example.COM", "securepass123").id == user.id
    assert accounts.authenticate("ann", "securepass123").id == user.id
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("nobody@example.com", "securepass123")


def test_an_email_belongs_to_one_account(ledger):
    accounts = ledger[AccountCommands]
    accounts.register_user(CTX, "ann", "securepass123", "", "", email="ann@example.com")
    with pytest.raises(EmailTaken):
        accounts.register_user(CTX, "other", "securepass123", "", "", email="ANN@example.com")
    with pytest.raises(InvalidCredentials):  # the refused registration left no account
        accounts.authenticate("other", "securepass123")


def test_a_malformed_email_is_refused(ledger):
    with pytest.raises(InvalidValue):
        ledger[AccountCommands].register_user(CTX, "bob", "securepass123", "", "", email="bob")
