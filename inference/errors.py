"""The error the facade raises for input a person typed: torch-free, so the pure measures in
`inference.metrics` (and the views that call them) can raise it without importing a model."""


class InputError(ValueError):
    """Input a person typed that cannot be translated; the message says what to do."""
