"""Which eduai role an LTI roles claim gives, per the LIS v2 vocabulary Moodle and Canvas send."""

from lti_tool.lti_core.utils import normalize_role

from eduai.courses.models import Enrollment

_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
TEACHING_ASSISTANT_ROLES = frozenset(
    {
        _LIS + "membership/Instructor#TeachingAssistant",
        _LIS + "membership#TeachingAssistant",
    }
)
INSTRUCTOR_ROLES = frozenset(
    {
        _LIS + "membership#Instructor",
        _LIS + "membership#Administrator",
        _LIS + "institution/person#Administrator",
        _LIS + "system/person#Administrator",
    }
)


def enrollment_role_from_claim(roles: list[str]) -> Enrollment.Role:
    """The most specific staff role wins; anything unknown, or no role at all, is a learner.

    Defaulting to learner is the safe side: an unexpected role never sees instructor pages.
    """
    normalized = {normalize_role(role) for role in roles}
    if normalized & TEACHING_ASSISTANT_ROLES:
        return Enrollment.Role.TEACHING_ASSISTANT
    if normalized & INSTRUCTOR_ROLES:
        return Enrollment.Role.INSTRUCTOR
    return Enrollment.Role.LEARNER


def is_staff_role(role: str) -> bool:
    return role in {Enrollment.Role.INSTRUCTOR, Enrollment.Role.TEACHING_ASSISTANT}
