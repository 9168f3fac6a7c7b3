"""Errors for input a user gave that the package cannot use."""


class InputError(ValueError):
    """A missing or unreadable file, or frames, actions or settings that do
    not fit the model. The message says what is wrong in words fit for a user."""
