"""The one exception type users see: a one-line message naming the problem."""


class CompressError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of a library's error message, for wrapping it in a CompressError."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]
