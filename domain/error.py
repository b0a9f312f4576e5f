"""The base of every domain exception."""

from uuid import UUID


class DomainError(Exception):
    """A rule of the domain refused a command.

    ``code`` is the refusal's machine code (the ``code`` of the error body): each refusal names
    its own (``SELF_APPROVAL``, ``RUN_FINISHED``), in the module that raises it. Its kind (the
    base class: ``InvalidValue``, ``NotFound``, ``Conflict``, ``Forbidden``) decides the HTTP
    status in ``interfaces/api/errors.py``, so a new aggregate's errors need no edit there.
    """

    code = "BAD_REQUEST"


class InvalidValue(DomainError):
    """A value given to a command breaks an invariant (empty, too long, unknown enum...)."""

    code = "INVALID_VALUE"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(DomainError):
    """The aggregate does not exist, is gone, or is not visible to the actor."""

    kind = "resource"
    code = "NOT_FOUND"  # a resource's own code, e.g. "FLOW_NOT_FOUND" (shared/CONTRACT.md 2.4)

    def __init__(self, aggregate_id: UUID | str) -> None:
        super().__init__(f"{self.kind.capitalize()} not found")
        self.aggregate_id = aggregate_id


class Conflict(DomainError):
    """The command clashes with the current state (a duplicate, a concurrent change)."""

    code = "CONFLICT"


class Forbidden(DomainError):
    """The actor may see the resource but may not do this to it."""

    code = "FORBIDDEN"
