"""Reads of the LTI integration."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from lti_tool.models import LtiLaunch, LtiLineItem, LtiResourceLink
from pylti1p3.lineitem import LineItem

from eduai.courses.models import Course, Enrollment
from grading.models import Assignment

from .clients import ags_client
from .roles import enrollment_role_from_claim


@dataclass(frozen=True)
class LaunchRecord:
    """Who launched, in which course, with which role, on which resource."""

    user: User
    role: Enrollment.Role
    course: Course | None
    resource_link: LtiResourceLink | None
    assignment: Assignment | None


def launch_record_get(*, lti_launch: LtiLaunch, user: User) -> LaunchRecord:
    """The record of the session's launch, for follow-up requests after the launch itself."""
    role = enrollment_role_from_claim(lti_launch.roles_claim or [])
    if lti_launch.context_claim is None:
        return LaunchRecord(user=user, role=role, course=None, resource_link=None, assignment=None)
    course = Course.objects.filter(lti_context=lti_launch.context).first()
    resource_link = lti_launch.resource_link if lti_launch.is_resource_launch else None
    assignment = Assignment.objects.filter(resource_link=resource_link).first() if resource_link else None
    return LaunchRecord(
        user=user, role=role, course=course, resource_link=resource_link, assignment=assignment
    )


def lms_results_list(*, line_item: LtiLineItem) -> list[dict[str, Any]]:
    """The results the LMS gradebook holds for a line item (AGS result service)."""
    results: list[dict[str, Any]] = ags_client(context=line_item.context).get_grades(
        LineItem().set_id(line_item.url)
    )
    return results
