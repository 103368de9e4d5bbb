"""The tool's own signing keys (lti_tool.Key): created on first use, rotated with a grace period."""

from datetime import timedelta
from itertools import pairwise

from django.db import transaction
from django.utils import timezone
from lti_tool.models import Key


def signing_key_ensure() -> Key:
    """The key the tool signs with; the first one is made on first use, not in a migration."""
    key: Key | None = Key.objects.active().order_by("-datetime_created").first()
    return key if key is not None else Key.objects.generate()


@transaction.atomic
def signing_key_rotate(*, retire_after: timedelta) -> tuple[Key, int]:
    """Sign with a new key from now on; retire older keys once their successor is ``retire_after`` old.

    A superseded key stays in the JWKS for that long, so platforms can still check what it
    signed (deep-linking responses, client assertions) while they refresh their cached key sets.
    """
    new_key = Key.objects.generate()
    active = list(Key.objects.active().order_by("-datetime_created"))
    cutoff = timezone.now() - retire_after
    retired = [older.pk for newer, older in pairwise(active) if newer.datetime_created < cutoff]
    Key.objects.filter(pk__in=retired).update(is_active=False)
    return new_key, len(retired)
