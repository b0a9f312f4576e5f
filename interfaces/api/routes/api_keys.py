"""API keys of the signed-in user: /api/v1/api-keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status
from pydantic import AwareDatetime, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from application.api_keys import ApiKeyCommands
from application.error import NotAllowed
from application.principal import Principal
from interfaces.api.deps import (
    ConsistencyDep,
    LedgerDep,
    PrincipalsDep,
    current_principal,
    queries,
)
from interfaces.api.deps import Context as ContextDep
from interfaces.api.errors import AUTHED, FORBIDDEN, NOT_FOUND
from interfaces.api.read_wait import settled
from interfaces.api.schema_fields import CreatedAt
from interfaces.api.schemas import StrictIn
from projections.api_key import ApiKeyQueries

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])
ApiKeysDep = Annotated[ApiKeyQueries, Depends(queries(ApiKeyQueries))]
SIGNED_IN = {**AUTHED, 403: FORBIDDEN}


async def signed_in_user(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A user's own session: an API key cannot manage keys."""
    if principal.scopes is not None:
        raise NotAllowed("API keys cannot manage API keys; sign in")
    return principal


SignedInUser = Annotated[Principal, Depends(signed_in_user)]


class ApiKeyIn(StrictIn):
    """A new key."""

    name: str = Field(
        min_length=1, max_length=100, description="a name to recognise the key by", examples=["ci"]
    )
    scopes: list[str] = Field(
        min_length=1,
        description="e.g. tasks:read, tasks:write, webhooks:read, profile:read",
        examples=[["tasks:read", "tasks:write"]],
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="when the key stops working (ISO 8601 with a time zone); null: never",
        examples=["2027-12-01T00:00:00Z"],
    )
    rate_limit: str | None = Field(
        default=None,
        max_length=40,
        description="the key's own limit, spent besides yours (never above it):"
        " a count per second, minute, hour or day; none: only your budget",
        examples=["10/minute"],
    )


class ApiKeyOut(BaseModel):
    """A key as listed: never its secret, only its first characters."""

    api_key_id: UUID = Field(
        description="the key's id", examples=["4d5e6f7a-8b9c-4d0e-8f1a-3b4c5d6e7f80"]
    )
    name: str = Field(description="the key's name", examples=["ci"])
    scopes: list[str] = Field(
        description="what the key may do", examples=[["tasks:read", "tasks:write"]]
    )
    prefix: str = Field(
        description="the key's first characters, to recognise it", examples=["lf_4d5e6f7a8"]
    )
    expires_at: datetime | None = Field(
        description="when it stops working; null: never", examples=["2027-12-01T00:00:00Z"]
    )
    rate_limit: str | None = Field(
        default=None,
        description="the key's own rate limit besides its user's (null: only the user's)",
        examples=["10/minute"],
    )
    revoked: bool = Field(description="true once revoked", examples=[False])
    created_at: CreatedAt


class ApiKeyCreatedOut(ApiKeyOut):
    """A new key, with its full text: shown this once, stored only as a hash."""

    key: str = Field(
        description="the full key: send it as Authorization: Bearer <key>; shown only now",
        examples=["lf_4d5e6f7a8b9c4d0e8f1a3b4c5d6e7f80_Xb2Lq9Vt4NwR7yKc1MzP8sHd3Gf6Ja5U"],
    )


class ApiKeyListOut(BaseModel):
    """The caller's keys."""

    api_keys: list[ApiKeyOut] = Field(description="the caller's keys")
    total: int = Field(description="how many items match, on all pages", examples=[1])


@router.post("", status_code=status.HTTP_201_CREATED, responses=SIGNED_IN)
def create_api_key(
    body: ApiKeyIn,
    me: SignedInUser,
    app: LedgerDep,
    context: ContextDep,
    consistency: ConsistencyDep,
) -> ApiKeyCreatedOut:
    """Create a key acting for you within its scopes; copy `key` now, it is not shown again.
    With `rate_limit` the key also has a budget of its own, below yours."""
    key, text, position = app[ApiKeyCommands].create_api_key(
        context, me.user_id, body.name, body.scopes, body.expires_at, body.rate_limit
    )
    consistency.wrote(me.user_id, position)
    return ApiKeyCreatedOut(
        api_key_id=key.id,
        name=key.name,
        scopes=key.scopes,
        prefix=key.prefix,
        expires_at=key.expires_at,
        rate_limit=key.rate_limit,
        revoked=False,
        created_at=key.created_on,
        key=text,
    )


@router.get("", responses=SIGNED_IN)
def list_api_keys(
    me: SignedInUser, keys: ApiKeysDep, _: Annotated[None, settled(ApiKeyQueries)]
) -> ApiKeyListOut:
    """Your keys, masked."""
    rows = keys.list_for(me.user_id)
    return ApiKeyListOut(api_keys=[ApiKeyOut.model_validate(r) for r in rows], total=len(rows))


@router.delete("/{api_key_id}", status_code=204, responses={**SIGNED_IN, 404: NOT_FOUND})
async def revoke_api_key(
    api_key_id: UUID,
    me: SignedInUser,
    app: LedgerDep,
    context: ContextDep,
    consistency: ConsistencyDep,
    principals: PrincipalsDep,
    keys: ApiKeysDep,
) -> Response:
    """Revoke one of your keys; it stops working at once on every instance."""
    position = await run_in_threadpool(
        app[ApiKeyCommands].revoke_api_key, context, me.user_id, api_key_id
    )
    await consistency.wrote_async(me.user_id, position)
    await consistency.settle_async(keys.name, me.user_id)
    principals.forget_key(api_key_id)
    return Response(status_code=204)
