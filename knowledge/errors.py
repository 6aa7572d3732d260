"""Domain exceptions: each carries a message that is safe and kind to show to a user."""


class HRBotError(Exception):
    """Base class: str(exc) is a user-facing message, never a traceback or internal detail."""


class ConfigurationError(HRBotError):
    """A setting is missing or invalid."""


class DatabaseUnavailable(HRBotError):
    """The database cannot be reached."""


class DocumentRejected(HRBotError):
    """A file cannot be ingested; the message says why and what to do."""


class EmbeddingModelMismatch(HRBotError):
    """The configured embedding model differs from the one the stored chunks were embedded with."""


class NotFound(HRBotError):
    """A named document or record does not exist."""


class DatabaseCrashed(DatabaseUnavailable):
    """A process of the embedded database was killed by a signal; the message names it and the server log."""


class DiskFull(HRBotError):
    """The database's disk is full: the transaction was rolled back, nothing was written."""


ENOSPC_TEXT = "No space left on device"


def disk_full_cause(exc: BaseException) -> BaseException | None:
    """The part of exc's chain (causes and contexts) that says the disk is full: an OSError ENOSPC, a PostgreSQL
    disk_full error (SQLSTATE 53100), or a server message with "No space left on device" (a WAL write's PANIC,
    a server that cannot start). None if the disk is not the cause."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFull):
            return exc
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return exc
        if getattr(exc, "sqlstate", None) == "53100" or ENOSPC_TEXT in str(exc) \
                or ENOSPC_TEXT in str(getattr(exc, "output", "") or ""):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class NotPermitted(HRBotError):
    """This process's database role may not do that (a runtime-only replica asked for owner work)."""


class ParseTooSlow(DocumentRejected):
    """Reading one file took longer than its time budget (HRBOT_PARSE_SECONDS); it was stopped between pages,
    paragraphs or blocks, and the rest of the batch goes on."""


def disk_full_message(exc: BaseException) -> str:
    """One line for a full disk: the cause and what to free."""
    import os

    cause = disk_full_cause(exc)
    if isinstance(cause, DiskFull):
        return str(cause)
    where = getattr(cause, "filename", None) or os.environ.get("HRBOT_DATA_DIR") or "HRBOT_DATA_DIR"
    return (f"The disk is full (No space left on device: {where}), so nothing was changed. Free some space on "
            "the disk holding the database's data (HRBOT_DATA_DIR, or your PostgreSQL server's volume) and try "
            "again; the embedded database recovers by itself once there is room.")
