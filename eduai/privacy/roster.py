"""The people of a course, as `redact` needs them: the one roster every app redacts with.

Every tutor question and scoring batch redacts with its course's roster, so each process keeps
the rosters it read, under a version in the shared cache: any write of an enrollment, or of a
user's name or e-mail (signals, ``PrivacyConfig.ready``), gives the course a new version, at once
and again when the transaction commits, so the next redaction reads the roster afresh. A
version the cache lost, or a cache that cannot be reached, reads it afresh too: a roster is
never older than the last committed change of its rows.
"""

import threading
import time
import uuid
from collections import OrderedDict

from django.core.cache import cache
from django.db import transaction

from eduai.courses.models import Enrollment

from .pseudonyms import pseudonym
from .redaction import Person

# Courses whose roster a process keeps (least recently used go first), and for how long at most
# (a bound should a version change be lost with the cache).
ROSTER_MEMORY_COURSES = 256
ROSTER_MEMORY_SECONDS = 300
_memory: OrderedDict[tuple[int, str], tuple[float, list[tuple[int, Person]]]] = OrderedDict()
_memory_lock = threading.Lock()  # the inference worker runs tasks in threads


def _version_key(course_id: int) -> str:
    return f"eduai:roster-version:{course_id}"


def _roster_read(course_id: int) -> list[tuple[int, Person]]:
    enrolments = Enrollment.objects.filter(course_id=course_id).select_related("user").order_by("pk")
    return [
        (
            enrollment.user_id,
            Person(
                pseudonym=pseudonym(user_id=enrollment.user_id, course_id=course_id),
                name=enrollment.user.get_full_name(),
                email=enrollment.user.email,
            ),
        )
        for enrollment in enrolments
    ]


def _roster(course_id: int) -> list[tuple[int, Person]]:
    try:
        version = cache.get(_version_key(course_id))
        if version is None:
            version = uuid.uuid4().hex
            if not cache.add(_version_key(course_id), version, timeout=None):
                version = cache.get(_version_key(course_id))
    except Exception:  # noqa: BLE001 - no cache: read the roster, keep nothing
        return _roster_read(course_id)
    if version is None:
        return _roster_read(course_id)
    key, now = (course_id, str(version)), time.monotonic()
    with _memory_lock:
        kept = _memory.get(key)
        if kept is not None and now - kept[0] < ROSTER_MEMORY_SECONDS:
            _memory.move_to_end(key)
            return kept[1]
    roster = _roster_read(course_id)
    with _memory_lock:
        _memory[key] = (now, roster)
        _memory.move_to_end(key)
        while len(_memory) > ROSTER_MEMORY_COURSES:
            _memory.popitem(last=False)
    return roster


def roster_changed(*, course_ids: list[int]) -> None:
    """The rosters of these courses changed: the next redaction reads them again (now, and after
    the commit, so that no process keeps a roster read before the change was committed)."""
    if not course_ids:
        return

    def forget() -> None:
        cache.set_many({_version_key(course_id): uuid.uuid4().hex for course_id in course_ids}, timeout=None)

    forget()
    transaction.on_commit(forget)


def course_people(*, course_id: int, exclude_user_id: int | None = None) -> list[Person]:
    """Everyone enrolled in the course (names, usernames' display names and e-mails), each with
    their course pseudonym as the replacement."""
    return [person for user_id, person in _roster(course_id) if user_id != exclude_user_id]


def user_course_ids(*, user_id: int) -> list[int]:
    return list(Enrollment.objects.filter(user_id=user_id).values_list("course_id", flat=True))
