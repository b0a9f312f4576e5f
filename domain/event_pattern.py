"""Event type patterns (``task.*``): what a pattern may contain, and a linear-time matcher.

A user's pattern is matched against every event a webhook, a WebSocket subscription or a feed
query considers. Translating each ``*`` into a backtracking regex ``.*`` made 20 stars cost
minutes per event (issue 11); here a pattern is split at its stars and the pieces are found in
order with ``str.find`` (the leftmost occurrence of each piece is always a correct choice when
``*`` is the only wildcard), so a match costs at most O(len(pattern) * len(type)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.error import InvalidValue

PATTERN_MAX_LENGTH = 100
PATTERNS_MAX = 50
# Event types are dotted lower-case words; patterns add ``*``. Nothing else (no NUL, no spaces,
# no SQL LIKE metacharacters) can reach a matcher or a query.
_ALLOWED = re.compile(r"[A-Za-z0-9_.:*-]+")
_STARS = re.compile(r"\*+")


def event_type_pattern(value: object, field: str = "events") -> str:
    """One pattern, checked (length, characters) and with runs of ``*`` collapsed into one."""
    if not isinstance(value, str):
        raise InvalidValue(field, "each pattern must be a string")
    text = value.strip()
    if not text or len(text) > PATTERN_MAX_LENGTH:
        raise InvalidValue(field, f"each pattern must have 1 to {PATTERN_MAX_LENGTH} characters")
    if not _ALLOWED.fullmatch(text):
        raise InvalidValue(field, "a pattern may contain only letters, digits, . _ - : and *")
    return _STARS.sub("*", text)


def event_type_patterns(values: Iterable[object], field: str = "events") -> list[str]:
    """Up to ``PATTERNS_MAX`` distinct patterns, each checked by ``event_type_pattern``."""
    patterns: list[str] = []
    for value in values:
        pattern = event_type_pattern(value, field)
        if pattern not in patterns:
            patterns.append(pattern)
        if len(patterns) > PATTERNS_MAX:
            raise InvalidValue(field, f"at most {PATTERNS_MAX} event type patterns")
    return patterns


def glob_matches(pattern: str, text: str) -> bool:
    """True when ``text`` matches ``pattern`` in full (``*``: any run of characters)."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return text == pattern
    first, *middle, last = pieces
    if len(text) < len(first) + len(last) or not text.startswith(first):
        return False
    if not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


class TypeMatcher:
    """Matches event types against any of some patterns; remembers each type's answer."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(_STARS.sub("*", p) for p in patterns) or ("*",)
        self._known: dict[str, bool] = {}

    def fullmatch(self, event_type: str) -> bool:
        """True when ``event_type`` matches one of the patterns (like ``re.Pattern.fullmatch``)."""
        known = self._known.get(event_type)
        if known is None:
            known = any(glob_matches(p, event_type) for p in self.patterns)
            if len(self._known) < 1024:  # event types are few; never grow without bound
                self._known[event_type] = known
        return known
