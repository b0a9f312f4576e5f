"""TOTP multi-factor authentication of the signed-in user: /api/v1/auth/mfa/*."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from application.mfa import MfaCommands
from interfaces.api.deps import Context as ContextDep
from interfaces.api.deps import CurrentUserId, LedgerDep
from interfaces.api.errors import AUTHED, CONFLICT
from interfaces.api.schemas import StrictIn

router = APIRouter(prefix="/api/v1/auth/mfa", tags=["auth"])


class MfaSetupOut(BaseModel):
    """A new TOTP secret: add it to an authenticator app, then confirm with a code."""

    secret: str = Field(
        description="the TOTP secret (base32) to type into an authenticator app",
        examples=["JBSWY3DPEHPK3PXP"],
    )
    otpauth_uri: str = Field(
        description="the same secret as an otpauth:// URI (for a QR code)",
        examples=["otpauth://totp/Ledgerflow:johndoe?secret=JBSWY3DPEHPK3PXP&issuer=Ledgerflow"],
    )


class MfaCodeIn(StrictIn):
    """A current one-time code from the authenticator app."""

    code: str = Field(
        min_length=6,
        max_length=12,
        description="the 6-digit code the authenticator app shows now",
        examples=["123456"],
    )


@router.post("/setup", responses={**AUTHED, 409: CONFLICT})
def setup_mfa(user_id: CurrentUserId, app: LedgerDep, context: ContextDep) -> MfaSetupOut:
    """Start MFA setup; it is active only after /verify accepts a code."""
    secret, uri = app[MfaCommands].begin_mfa_setup(context, user_id)
    return MfaSetupOut(secret=secret, otpauth_uri=uri)


@router.post("/verify", status_code=204, responses={**AUTHED, 409: CONFLICT})
def verify_mfa(
    body: MfaCodeIn, user_id: CurrentUserId, app: LedgerDep, context: ContextDep
) -> Response:
    """Confirm the setup with a code: from now on login needs `totp_code`."""
    app[MfaCommands].confirm_mfa(context, user_id, body.code)
    return Response(status_code=204)


@router.post("/disable", status_code=204, responses={**AUTHED, 409: CONFLICT})
def disable_mfa(
    body: MfaCodeIn, user_id: CurrentUserId, app: LedgerDep, context: ContextDep
) -> Response:
    """Turn MFA off; needs a current code."""
    app[MfaCommands].disable_mfa(context, user_id, body.code)
    return Response(status_code=204)
