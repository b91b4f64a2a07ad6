"""The error the facade raises for input a person typed: torch-free, so the pure measures in
`inference.metrics` (and the views that call them) can raise it without importing a model."""


class InputError(ValueError):
    """Input a person typed that cannot be translated; the message says what to do."""


def whole_number(value, low: int, high: int, what: str) -> int:
    """`value` (a number, or text holding one, from a widget or an API client) as an int from
    `low` to `high`; InputError naming `what` and the range otherwise."""
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not low <= number <= high:
        raise InputError(f"The {what} must be a whole number from {low:,} to {high:,}, "
                         f"not {str(value)[:20]!r}.")
    return int(number)
