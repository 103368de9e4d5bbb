"""The windows the abuse limits count in (tutor questions, AI scoring): the UTC day and the
burst window, and how long a client should wait (``Retry-After``) when one is full."""

from datetime import datetime, timedelta

# Burst limits count the requests of the last minute.
BURST_WINDOW = timedelta(minutes=1)


def day_start(now: datetime) -> datetime:
    """The start of ``now``'s UTC day, when the daily limits start again."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def seconds_to_next_day(now: datetime) -> int:
    """Seconds until the next UTC midnight (at least 1)."""
    return max(int((day_start(now) + timedelta(days=1) - now).total_seconds()), 1)
