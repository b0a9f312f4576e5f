"""PostgreSQL's LIKE form of a pattern selects exactly what the in-process matcher selects."""

from __future__ import annotations

import random

import psycopg

from domain.event_pattern import TypeMatcher
from projections.event_feed import like_pattern


def test_sql_like_and_the_matcher_agree(pg_server_url):
    rng = random.Random(7)
    types = ["task.created", "task.status_changed", "a_b.c", "a%b", "ab", "", "webhook.test"]
    patterns = ["*", "task.*", "*_*", "a_b*", "a%b", "**a**", "*" * 40 + "Z", "t*a*s*k*d"]
    patterns += ["".join(rng.choice("ab_%.*") for _ in range(6)) for _ in range(200)]
    with psycopg.connect(pg_server_url) as conn:
        rows = conn.execute(
            "SELECT p, t, t LIKE l FROM unnest(%s::text[], %s::text[]) AS x(p, l),"
            " unnest(%s::text[]) AS y(t)",
            (patterns, [like_pattern(p) for p in patterns], types),
        ).fetchall()
    disagree = [(p, t) for p, t, like in rows if like != TypeMatcher([p]).fullmatch(t)]
    assert disagree == []
    assert len(rows) == len(patterns) * len(types)
