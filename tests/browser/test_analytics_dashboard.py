"""The instructor's course analytics in Chromium: reached from an LTI launch, accessible (axe),
no horizontal scroll at LMS iframe widths, and the weekly numbers on screen."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from lti_tool.models import Key, LtiRegistration
from playwright.sync_api import expect

from analytics.risk_services import at_risk_score_course
from analytics.services import event_record, knowledge_point_create, knowledge_point_tag
from analytics.weekly_services import course_calendar_set, course_week_metrics_update, planned_item_set
from eduai.courses.models import Course, Enrollment
from tests.browser.conftest import (
    FIT_WIDTHS,
    WIDTHS,
    axe_violations,
    has_horizontal_scroll,
    launch_top_level,
    screenshot,
)
from tests.factories import AssignmentFactory, EnrollmentFactory, MaterialFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _course_activity(course: Course) -> None:
    course_calendar_set(course=course, starts_on=timezone.localdate() - timedelta(days=21))
    start = timezone.now() - timedelta(days=21)
    reading = MaterialFactory.create(
        course=course, title="Osmosis", text="Osmosis moves water across membranes."
    )
    essay = AssignmentFactory.create(course=course, title="Membranes")
    planned_item_set(course=course, week=1, material=reading)
    planned_item_set(course=course, week=2, assignment=essay)
    points = [
        knowledge_point_create(course=course, name=name) for name in ("Osmosis", "Diffusion", "Membranes")
    ]
    knowledge_point_tag(knowledge_point=points[0], materials=[reading])
    names = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson")]
    for index, (first, last) in enumerate(names):
        student = EnrollmentFactory.create(
            course=course,
            user=UserFactory.create(first_name=first, last_name=last),
            role=Enrollment.Role.LEARNER,
        ).user
        event_record(
            user=student,
            course=course,
            verb="viewed",
            object_type="material",
            object_id=str(reading.pk),
            timestamp=start + timedelta(days=1),
        )
        if index < 3:
            event_record(
                user=student,
                course=course,
                verb="graded",
                object_type="assignment",
                object_id=str(essay.pk),
                timestamp=start + timedelta(days=8),
                result_score=0.9 - 0.25 * index,
                knowledge_points=points[: index + 1],
            )
        event_record(
            user=student,
            course=course,
            verb="rated",
            object_type="answer",
            object_id=str(index),
            timestamp=start + timedelta(days=9),
            result_score=1.0 if index % 2 else 0.0,
        )
    course_week_metrics_update(course=course)
    at_risk_score_course(course=course)


def test_the_instructor_reads_the_course_dashboard(
    page, lti_platform, lti_registration: LtiRegistration, live_server: Any
):
    lti_platform.configure(tool_jwks=Key.objects.as_jwks(), tool_base=live_server.url)
    launch_top_level(page, lti_platform, "u-teacher")
    course = Course.objects.get()
    _course_activity(course)

    page.goto(f"{live_server.url}/analytics/courses/{course.pk}/dashboard/")
    expect(page.get_by_role("heading", name="Weekly progress and feedback")).to_be_visible()
    expect(page.locator(".launch-context")).to_contain_text("Instructor")  # the launch's header
    week1 = page.locator('#analytics-weeks tr[data-week="1"]')
    expect(week1.locator('[data-metric="progress"]')).to_have_text("100%")
    expect(page.get_by_role("img", name="Mastery heat map")).to_be_visible()
    expect(page.locator("#analytics-at-risk")).to_contain_text("Katherine Johnson")
    page.get_by_text("Show the numbers").first.click()
    assert axe_violations(page.main_frame) == []
    for width in FIT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert not has_horizontal_scroll(page.main_frame), f"horizontal scroll at {width} px"
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"analytics-dashboard-{name}", full_page=True)
