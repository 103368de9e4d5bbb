"""Work whose task the broker lost is sent again, by finders the apps register.

Durable work is a row first (a submission waiting for its AI grade, a pending tutor answer, a
material waiting to be ingested, a score in the passback outbox, ...), then a task sent with
``eduai.celery.task_send``. When the broker was down at that moment, or restarted empty, the row
waits with nothing to process it. Each app registers a ``StaleWork`` for each kind of such work:
a name, how long a row may wait before its task is presumed lost, and a ``resend`` that finds
the rows waiting longer and sends their task again, returning their ids.

The beat task ``stale_work_requeue`` (every 2 minutes) runs each kind once per its ``after`` (so
a row whose task is only slow, behind a backed-up queue, gets one copy per ``after``, not one
per beat); one that fails is logged and does not stop the others. A resend must be safe to
repeat: the task skips work already done, so a copy of a task that was only slow costs nothing.
A resend stops at the first send the broker refuses: the rest waits for the next sweep.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.core.cache import cache
from django.utils import timezone

from eduai.celery import task_send

if TYPE_CHECKING:
    from django.db.models import Model

logger = logging.getLogger(__name__)


class Resend(Protocol):
    def __call__(self, *, older_than: timedelta) -> Sequence[int]: ...


@dataclass(frozen=True)
class StaleWork:
    name: str
    resend: Resend
    # How long a row may wait before its task is presumed lost (a callable reads a setting).
    after: timedelta | Callable[[], timedelta]

    def threshold(self) -> timedelta:
        return self.after() if callable(self.after) else self.after


_kinds: dict[str, StaleWork] = {}


def stale_work_register(kind: StaleWork) -> None:
    _kinds[kind.name] = kind


def stale_work_kinds() -> list[StaleWork]:
    return [_kinds[name] for name in sorted(_kinds)]


def resend_due(kind: str, object_id: object, every: timedelta) -> bool:
    """True at most once per ``every`` for one row: for finders whose rows have no timestamp
    to touch when they are sent again (a copy may still be running)."""
    return bool(cache.add(f"eduai:resent:{kind}:{object_id}", True, every.total_seconds()))


def resend_each(
    task: Any,
    ids: Iterable[int],
    *,
    touch: "type[Model] | None" = None,
    once_per: tuple[str, timedelta] | None = None,
) -> list[int]:
    """Send ``task`` with each id in turn; returns the ids sent. ``touch``: the model whose row's
    ``updated_at`` is set to now once sent (so it waits a full threshold again); ``once_per``
    (kind, every): for rows with no timestamp to touch, each id at most once per ``every``.
    Stops at the first send the broker refuses: the next sweep sends the rest."""
    sent = []
    for object_id in ids:
        if once_per is not None and not resend_due(once_per[0], object_id, once_per[1]):
            continue
        if not task_send(task, object_id):
            break
        if touch is not None:
            touch._default_manager.filter(pk=object_id).update(updated_at=timezone.now())
        sent.append(object_id)
    return sent


def stale_work_requeue(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Run each finder that is due (once per its ``after``, less a margin for beat's jitter) with
    its own threshold, or, given ``older_than``, every finder at once with that threshold.
    Returns how many rows each sent again (-1 for a finder that failed, logged)."""
    sent: dict[str, int] = {}
    for kind in stale_work_kinds():
        try:
            threshold = kind.threshold() if older_than is None else older_than
            if older_than is None and not resend_due("stale-work", kind.name, threshold * 0.9):
                continue
            sent[kind.name] = len(kind.resend(older_than=threshold))
        except Exception:
            logger.exception("stale work %s could not be sent again", kind.name)
            sent[kind.name] = -1
    if any(sent.values()):
        logger.info("stale work sent again: %s", sent)
    return sent
