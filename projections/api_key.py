"""The API keys read model: what checking a key needs, and the owner's masked list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.api_key import ApiKey
from projections.table import RevocableProjection, add_missing_columns

LISTED = "api_key_id, name, scopes, prefix, expires_at, rate_limit, revoked, created_at"


class ApiKeyProjection(RevocableProjection):
    """Projects API key events into ``<table>``."""

    key, created, revoked = "api_key_id", ApiKey.Created, ApiKey.Revoked

    topics: tuple[str, ...] = (ApiKey.Created.TOPIC, ApiKey.Revoked.TOPIC)

    def __init__(self, table: str = "api_keys", name: str | None = None) -> None:
        super().__init__(table, name)

    def create_tables(self, cur: psycopg.Cursor[Any]) -> None:
        """Create the API keys table."""
        self._create(
            cur,
            "api_key_id uuid PRIMARY KEY, user_id uuid NOT NULL, name text NOT NULL,"
            " scopes text[] NOT NULL, key_hash text NOT NULL, prefix text NOT NULL,"
            " expires_at timestamptz, rate_limit text, revoked boolean NOT NULL DEFAULT false,"
            " created_at timestamptz NOT NULL, position bigint NOT NULL",
            "user_id, created_at",
        )
        add_missing_columns(cur, self.table, {"rate_limit": "text"})  # a table made before it

    def _row(self, e: ApiKey.Created, position: int) -> dict[str, Any]:
        return {
            "api_key_id": e.originator_id,
            "user_id": e.user_id,
            "name": e.name,
            "scopes": list(e.scopes),
            "key_hash": e.key_hash,
            "prefix": e.prefix,
            "expires_at": e.expires_at,
            "rate_limit": e.rate_limit,
            "created_at": e.timestamp,
            "position": position,
        }


class ApiKeyQueries:
    """Queries on the API keys table."""

    def __init__(self, pool: ConnectionPool[Any], table: str = "api_keys") -> None:
        self._pool = pool
        self._t = sql.Identifier(table)
        self.name = table  # the read model a query waits for (read-your-writes)

    def lookup(self, key_id: UUID) -> dict[str, Any] | None:
        """What checking a presented key needs (owner, hash, scopes, expiry, revoked, rate)."""
        query = sql.SQL(
            "SELECT user_id, key_hash, scopes, expires_at, revoked, rate_limit FROM {}"
            " WHERE api_key_id = %s"
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row: dict[str, Any] | None = cur.execute(query, (key_id,)).fetchone()
        return row

    def list_for(self, user_id: UUID) -> list[dict[str, Any]]:
        """The user's keys, masked (prefix only), newest first."""
        query = sql.SQL(
            "SELECT " + LISTED + " FROM {} WHERE user_id = %s ORDER BY created_at DESC"  # noqa: S608
        ).format(self._t)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows: list[dict[str, Any]] = cur.execute(query, (user_id,)).fetchall()
        return rows
