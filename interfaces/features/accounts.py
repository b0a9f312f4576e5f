"""The accounts feature: registration, sign-in, profiles, roles and MFA of users."""

from application.accounts import AccountCommands
from application.mfa import MfaCommands
from domain.user import AdminSeat, EmailClaim, User, Username
from interfaces.api.alias import Alias
from interfaces.api.presenters import FLOW8
from interfaces.api.routes import account, auth, identity, mfa, users
from interfaces.feature import Feature, ReadModel, Scope
from interfaces.metrics import Sampled, count_by
from projections.readers import ReaderRule
from projections.user import UserProjection, UserQueries

FEATURE = Feature(
    name="accounts",
    handlers=(AccountCommands, MfaCommands),
    read_models=(ReadModel(lambda rules: UserProjection(), UserQueries),),
    routers=(auth.router, account.router, mfa.router, users.router, identity.router),
    scopes=(
        Scope("/me", read="profile:read", write=None),
        Scope("/api/v1/auth/me", read="profile:read", write=None),
    ),
    readers=(
        ReaderRule(User, lambda created: created.originator_id),
        ReaderRule(Username, lambda created: created.user_id),
        ReaderRule(AdminSeat, lambda created: created.user_id),
        ReaderRule(EmailClaim, lambda created: created.user_id),
    ),
    aliases=(
        Alias("POST", "/api/v1/auth/change-password", "/api/v1/auth/password"),  # 002
        Alias("GET", "/api/v1/admin/users", "/api/v1/users"),  # 002
        Alias("POST", "/api/v1/admin/users", "/api/v1/users"),  # 002: email, full_name, role
        Alias("POST", "/api/auth/login", "/api/v1/auth/session", FLOW8),  # cookie session
        Alias("GET", "/api/auth/me", "/api/v1/auth/me", FLOW8),
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
