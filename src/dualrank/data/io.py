"""One error type for bad input, so entry points can print it without a traceback."""


class InputError(ValueError):
    """Bad input: a malformed file, a missing id, a bad config value.

    The message always names the file (and line) or the config key at fault.
    """
