"""Logging filters named in settings.LOGGING."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refused request (403, 404...) is worth a line in the log, not a traceback: the
    "exception" was Django's way of answering, not a fault. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
