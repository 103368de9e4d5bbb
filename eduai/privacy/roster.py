"""The people of a course, as `redact` needs them: the one roster every app redacts with."""

from eduai.courses.models import Enrollment

from .pseudonyms import pseudonym
from .redaction import Person


def course_people(*, course_id: int, exclude_user_id: int | None = None) -> list[Person]:
    """Everyone enrolled in the course (names, usernames' display names and e-mails), each with
    their course pseudonym as the replacement."""
    people = []
    enrolments = Enrollment.objects.filter(course_id=course_id).select_related("user")
    for enrollment in enrolments:
        user = enrollment.user
        if user.pk == exclude_user_id:
            continue
        people.append(
            Person(
                pseudonym=pseudonym(user_id=user.pk, course_id=course_id),
                name=user.get_full_name(),
                email=user.email,
            )
        )
    return people


def user_course_ids(*, user_id: int) -> list[int]:
    return list(Enrollment.objects.filter(user_id=user_id).values_list("course_id", flat=True))
