"""Personal data out of log lines: every record the site's log handlers write is redacted.

Code logs ids, not student text; this filter is the net under that rule, for what slips
through (a library's message quoting a request, an exception quoting its input). It uses the
pattern part of ``redact`` (e-mails, phone numbers, national and student ids, street
addresses): a log line has no course, so there is no roster to match names against. UUIDs (task
and stream ids) are kept as they are, since their digit runs would read as phone numbers.
"""

import logging
import re

from .redaction import redact

UUID = re.compile(r"(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)")


def log_text_redact(text: str) -> str:
    """``text`` with personal data replaced by tags, its UUIDs left alone."""
    pieces = UUID.split(text)  # the UUIDs are the odd pieces
    return "".join(piece if index % 2 else redact(piece).text for index, piece in enumerate(pieces))


class PersonalDataFilter(logging.Filter):
    """A handler filter (``LOGGING``): the record's message, exception and stack text redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  # a broken format is logging's to report, as it would
            return True
        record.msg, record.args = log_text_redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = log_text_redact(record.exc_text)
        if record.stack_info:
            record.stack_info = log_text_redact(record.stack_info)
        return True
