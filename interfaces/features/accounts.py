"""The accounts feature: registration, sign-in, profiles, roles and MFA of users."""

from application.accounts import AccountCommands
from application.mfa import MfaCommands
from domain.user import AdminSeat, User, Username
from interfaces.api.routes import account, auth, mfa, users
from interfaces.feature import Feature, ReadModel, Scope
from interfaces.metrics import Sampled, count_by
from projections.readers import ReaderRule
from projections.user import UserProjection, UserQueries

FEATURE = Feature(
    name="accounts",
    handlers=(AccountCommands, MfaCommands),
    read_models=(ReadModel(lambda rules: UserProjection(), UserQueries),),
    routers=(auth.router, account.router, mfa.router, users.router),
    scopes=(
        Scope("/me", read="profile:read", write=None),
        Scope("/api/v1/auth/me", read="profile:read", write=None),
    ),
    readers=(
        ReaderRule(User, lambda created: created.originator_id),
        ReaderRule(Username, lambda created: created.user_id),
        ReaderRule(AdminSeat, lambda created: created.user_id),
    ),
    metrics=(
        Sampled(
            "ledgerflow_users",
            "Active users by role",
            ("role",),
            count_by("users", "role", "WHERE active"),
        ),
    ),
)
