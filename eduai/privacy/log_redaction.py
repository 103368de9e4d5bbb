"""Personal data out of log lines: every record the site's log handlers write is redacted.

Code logs ids, not student text; this filter is the net under that rule, for what slips
through (a library's message quoting a request, an exception quoting its input). A log line has
no course, so there is no roster to match names against; it gets the pattern part of ``redact``
made fit for logs, which are full of row ids, ports, dates and task UUIDs: e-mails, national ids
and street addresses as in ``redact``; phone numbers only when written as phone numbers (a
leading + or separators between digit groups) and student ids only with their letter prefix, so
that a bare run of digits (a row id) stays readable; UUIDs are kept as they are.
"""

import logging
import re

from .redaction import ADDRESS, EMAIL, NATIONAL_ID

UUID = re.compile(r"(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)")
# "+44 20 7946 0958", "+8613800138000", "(555) 123-4567", "138 0013 8000"; not "2026-12-01" or "123456".
PHONE_WRITTEN = re.compile(
    r"(?<![\w+])(?:\+\d(?:[\s.()-]{0,3}\d){6,14}|\(?\d{2,4}\)?[\s.-]{1,3}\d{2,4}[\s.-]{1,3}\d{3,4})(?![\w])"
)
STUDENT_ID_PREFIXED = re.compile(r"\b[A-Za-z]{1,2}\d{6,10}\b")
LOG_PATTERNS = (
    (EMAIL, "[email]"),
    (NATIONAL_ID, "[national-id]"),
    (STUDENT_ID_PREFIXED, "[student-id]"),
    (PHONE_WRITTEN, "[phone]"),
    (ADDRESS, "[address]"),
)


def log_text_redact(text: str) -> str:
    """``text`` with personal data replaced by tags, its UUIDs left alone."""
    pieces = UUID.split(text)  # the UUIDs are the odd pieces
    for index in range(0, len(pieces), 2):
        for pattern, tag in LOG_PATTERNS:
            pieces[index] = pattern.sub(tag, pieces[index])
    return "".join(pieces)


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
