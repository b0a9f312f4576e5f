"""Small validated values shared by aggregates."""

from domain.error import InvalidValue


def bounded_text(field: str, value: str, *, max_length: int, required: bool = True) -> str:
    """Return ``value`` stripped, refusing it when empty (if required) or longer than allowed."""
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a string")
    text = value.strip()
    if required and not text:
        raise InvalidValue(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidValue(field, f"must be at most {max_length} characters")
    return text
