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


class NotPermitted(HRBotError):
    """This process's database role may not do that (a runtime-only replica asked for owner work)."""


class ParseTooSlow(DocumentRejected):
    """Reading one file took longer than its time budget (HRBOT_PARSE_SECONDS); it was stopped between pages,
    paragraphs or blocks, and the rest of the batch goes on."""
