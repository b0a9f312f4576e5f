"""Access tokens: what is accepted and what is refused."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from application.error import InvalidToken
from application.token import TokenIssuer

ISSUER = TokenIssuer("the-secret-of-these-tests-32-bytes!", timedelta(minutes=5))


def test_a_fresh_token_names_its_user():
    user = uuid4()
    assert ISSUER.verify(ISSUER.issue(user)) == user


def test_an_expired_token_is_refused():
    old = ISSUER.issue(uuid4(), now=datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(InvalidToken):
        ISSUER.verify(old)


def test_a_token_signed_with_another_key_is_refused():
    with pytest.raises(InvalidToken):
        TokenIssuer("another-secret-of-these-tests-32-bytes", timedelta(minutes=5)).verify(
            ISSUER.issue(uuid4())
        )


def test_an_alg_none_token_is_refused():
    claims = {
        "sub": str(uuid4()),
        "iss": "ledgerflow",
        "typ": "access",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        ISSUER.verify(unsigned)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "Bearer"])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidToken):
        ISSUER.verify(token)


def test_a_token_of_another_type_is_refused():
    claims = {
        "sub": str(uuid4()),
        "iss": "ledgerflow",
        "typ": "refresh",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    with pytest.raises(InvalidToken):
        ISSUER.verify(jwt.encode(claims, "the-secret-of-these-tests-32-bytes!", algorithm="HS256"))


def test_a_remembered_token_is_refused_once_it_expires():
    from freezegun import freeze_time

    issuer = TokenIssuer("the-secret-of-these-tests-32-bytes!", timedelta(minutes=5))
    with freeze_time("2026-01-01 12:00:00"):
        token = issuer.issue(uuid4())
        assert issuer.verify(token)  # now cached
    with freeze_time("2026-01-01 12:06:00"), pytest.raises(InvalidToken):
        issuer.verify(token)


def test_tokens_signed_with_a_previous_key_still_work_after_rotation():
    old = TokenIssuer("the-old-secret-of-these-tests-32-bytes", timedelta(minutes=5))
    rotated = TokenIssuer(
        "the-new-secret-of-these-tests-32-bytes",
        timedelta(minutes=5),
        previous_secrets=("the-old-secret-of-these-tests-32-bytes",),
    )
    user = uuid4()
    assert rotated.verify(old.issue(user)) == user
    with pytest.raises(InvalidToken):
        TokenIssuer("the-new-secret-of-these-tests-32-bytes", timedelta(minutes=5)).verify(
            old.issue(user)
        )
