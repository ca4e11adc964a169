"""The errors every backend raises (backends/base.py re-exports them): each carries a message a
page can show as it is."""

class BackendError(Exception):
    """Anything the backend could not do, with a message a page can show as it is.

    `status` is the upstream HTTP status where there was one; `field` names the input at fault
    when the backend refused a value; `retry_after` is in seconds (rate limits).
    """

    def __init__(self, message: str, *, status: int | None = None, field: str = "<root>",
                 retry_after: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.retry_after = retry_after
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class NotFound(BackendError):
    """The run, file, example or automation does not exist (any more)."""


class StorageFull(BackendError):
    """The file store is full (HTTP 507): nothing of the change was kept, no partial file left."""

    def __init__(self, message: str = "", **kwargs):
        super().__init__(message or "The file store is full: nothing was saved. Try again once an admin has freed "
                         "space.", status=507, **kwargs)


class ChangeRefused(BackendError):
    """The backend refused a change as invalid (a bad name, a missing output file...)."""


class ReviewConflict(ChangeRefused):
    """The review changed since the reviewer loaded it; `current` is the review as it is now."""

    def __init__(self, current):
        super().__init__(
            "Someone else saved this review since you opened it. Your changes were not saved; "
            "the current version is shown below.", field="version")
        self.current = current


class Unavailable(BackendError):
    """The backend could not be reached or failed (timeouts, refused connections, 5xx, 429)."""


class Misconfigured(BackendError):
    """The backend refused Loupe's credentials (401/403): an operator has to fix a setting."""
