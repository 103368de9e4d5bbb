"""Retention: personal data older than its period is deleted, by rules the apps register.

Each rule names the setting that holds its period in days (0 keeps the data for ever) and a
purge function that deletes (or strips) what is older than a cutoff and says how much it did.
The daily beat task `retention_enforce` runs every rule; each rule runs in its own
transaction, so one failing rule neither blocks nor undoes the others.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionRule:
    name: str
    days_setting: str
    purge: Callable[[datetime], int]  # (cutoff) -> rows or files deleted or stripped


_rules: dict[str, RetentionRule] = {}


def retention_rule_register(rule: RetentionRule) -> None:
    _rules[rule.name] = rule


def retention_rules() -> list[RetentionRule]:
    return [_rules[name] for name in sorted(_rules)]


def retention_enforce(*, now: datetime | None = None) -> dict[str, int]:
    """Run every rule; returns what each one purged (-1 for a rule that failed, logged)."""
    now = now or timezone.now()
    purged: dict[str, int] = {}
    for rule in retention_rules():
        days = int(getattr(settings, rule.days_setting))
        if days <= 0:
            continue
        try:
            with transaction.atomic():
                purged[rule.name] = rule.purge(now - timedelta(days=days))
        except Exception:
            logger.exception("retention rule %s failed", rule.name)
            purged[rule.name] = -1
    if any(count for count in purged.values()):
        logger.info("retention: %s", purged)
    return purged
