"""Errors that mean "the input or the configuration is wrong", reported without a traceback."""


class InputError(ValueError):
    """Bad input or configuration; the message names the file/key/row and what was expected."""
