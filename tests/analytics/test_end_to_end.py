"""Done-when test of issue 8: students launched over LTI, their activity recorded, the periodic
tasks run on a real worker, and the dashboard's numbers checked against a hand computation.

The activity of past weeks comes in as xAPI statements through the import endpoint (the apps
date their events "now", so earlier weeks can only be imported) plus graded events recorded with
the event service the grading app calls; in the current week a student opens a passage in the
tutoring app, which records the view, and asks a question (recorded as the tutoring app does).
"""

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from lti_tool.models import LtiUser

from analytics.models import AtRiskScore, CourseWeekMetrics, LearningEvent, NextStep
from analytics.services import event_record, knowledge_point_create, knowledge_point_tag
from analytics.tasks import at_risk_score_all, course_week_metrics_update_all, next_steps_refresh_all
from analytics.weekly_services import course_calendar_set, planned_item_set
from eduai.courses.models import Course
from tests.factories import AssignmentFactory, MaterialFactory
from tutoring.models import Chunk

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHOTOSYNTHESIS = (
    "Photosynthesis converts light energy into chemical energy. Chlorophyll in the chloroplasts absorbs "
    "light. The light reactions split water and release oxygen. The Calvin cycle uses carbon dioxide "
    "to build glucose."
)


def _wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def _statement(email: str, verb: str, kind: str, object_id: int, when, score: float | None = None):
    statement = {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": f"https://eduai.example/verbs/{verb}"},
        "object": {"id": str(object_id), "definition": {"type": f"https://eduai.example/types/{kind}"}},
        "timestamp": when.isoformat(),
    }
    if score is not None:
        statement["result"] = {"score": {"scaled": score}}
    return statement


def _cell(html: str, week: int, metric: str) -> str:
    row = re.search(rf'<tr data-week="{week}">(.*?)</tr>', html, re.S)
    assert row, html[:2000]
    cell = re.search(rf'<td [^>]*data-metric="{metric}">([^<]*)</td>', row.group(1))
    assert cell, row.group(1)
    return cell.group(1)


def test_students_activity_reaches_the_dashboard_through_the_worker(lti_flow, celery_worker_process):
    users = lti_flow.platform.users
    learner_roles = users["u-student"]["roles"]
    for sub, email in (("u-s2", "s2@school.test"), ("u-s3", "s3@school.test")):
        users[sub] = {"sub": sub, "roles": learner_roles, "name": f"Student {sub}", "email": email}
    teacher = Client()
    assert lti_flow.launch(teacher, "u-teacher").status_code == 200
    students = {sub: Client() for sub in ("u-student", "u-s2", "u-s3")}
    for sub, client in students.items():
        assert lti_flow.launch(client, sub).status_code == 200
    course = Course.objects.get()
    s1, s2, s3 = (LtiUser.objects.get(sub=sub).auth_user for sub in students)

    # The plan: weeks 1 and 2 each have a material to read and an assignment due.
    today = timezone.localdate()
    course_calendar_set(course=course, starts_on=today - timedelta(days=14))
    start = timezone.now() - timedelta(days=14)
    m1 = MaterialFactory.create(course=course, title="Light", text=PHOTOSYNTHESIS)
    m2 = MaterialFactory.create(course=course, title="Calvin cycle", text=PHOTOSYNTHESIS)
    a1, a2 = AssignmentFactory.create(course=course), AssignmentFactory.create(course=course)
    for week, item in (
        (1, {"material": m1}),
        (1, {"assignment": a1}),
        (2, {"material": m2}),
        (2, {"assignment": a2}),
    ):
        planned_item_set(course=course, week=week, **item)
    point = knowledge_point_create(course=course, name="Photosynthesis")
    knowledge_point_tag(knowledge_point=point, materials=[m1], assignments=[a1, a2])

    def day(number: float):
        return timezone.localtime(start).replace(hour=12, minute=0) + timedelta(days=number)

    statements = [
        _statement("s@school.test", "viewed", "material", m1.pk, day(1)),
        _statement("s@school.test", "submitted", "assignment", a1.pk, day(2)),
        _statement("s2@school.test", "viewed", "material", m1.pk, day(3)),
        _statement("s2@school.test", "rated", "answer", 1, day(3), 0.6),
        _statement("s@school.test", "viewed", "material", m2.pk, day(8)),
        _statement("s@school.test", "rated", "answer", 2, day(8), 1.0),
        _statement("s2@school.test", "submitted", "assignment", a2.pk, day(9)),
        _statement("s3@school.test", "viewed", "material", m2.pk, day(10)),
        _statement("s3@school.test", "viewed", "material", m1.pk, day(10)),  # late for week 1
        _statement("nobody@school.test", "viewed", "material", m1.pk, day(10)),  # rejected
    ]
    imported = teacher.post(
        f"/api/v1/analytics/xapi/statements?course_id={course.pk}",
        statements,
        content_type="application/json",
    ).json()
    assert (imported["stored"], imported["rejected"]) == (9, 1)
    # Released grades, recorded as the grading app records them (with the assignment's points).
    for student, assignment, when, score in ((s1, a1, day(3), 0.8), (s2, a2, day(10), 0.5)):
        event_record(
            user=student,
            course=course,
            verb="graded",
            object_type="assignment",
            object_id=str(assignment.pk),
            timestamp=when,
            result_score=score,
            knowledge_points=[point],
        )
    event_record(
        user=s1,
        course=course,
        verb="asked",
        object_type="tutor_question",
        object_id="1",
        timestamp=timezone.now(),
    )
    # This week, s1 opens a cited passage of the week-2 material in the tutoring app (late for
    # week 2, so no change there): the app records the view.
    passage = Chunk.objects.create(
        course=course,
        material=m2,
        ordinal=0,
        text=PHOTOSYNTHESIS,
        start=0,
        end=len(PHOTOSYNTHESIS),
        embedding=b"",
    )
    assert students["u-student"].get(f"/tutoring/passages/{passage.pk}/").status_code == 200
    assert LearningEvent.objects.filter(user=s1, verb="viewed", object_id=str(m2.pk)).count() == 2

    # Beat's periodic tasks, run by the real worker.
    course_week_metrics_update_all.delay()
    at_risk_score_all.delay()
    next_steps_refresh_all.delay()
    _wait(
        lambda: CourseWeekMetrics.objects.filter(course=course).count() == 3,
        timeout=120,
        what="weekly metrics",
    )
    _wait(lambda: AtRiskScore.objects.filter(course=course).count() == 3, timeout=120, what="at-risk scoring")

    # Hand computation. Week 1 (M1, A1): s1 and s2 active; L = (2/2 + 1/2) / 2 = 0.75;
    # M = (grade 0.8 + rating 0.6) / 2 = 0.7. Week 2 (M2, A2): s1, s2, s3 active, each did one
    # of two: L = 0.5; M = (rating 1.0 + grade 0.5) / 2 = 0.75 (s3 has no rating or grade).
    # The dashboard is part of the LTI instructor page (the session's launch, shown again) and
    # has a page of its own.
    html = teacher.get("/lti/resource/").content.decode()
    assert "Instructor view" in html
    assert (_cell(html, 1, "progress"), _cell(html, 1, "feedback")) == ("75%", "70%")
    assert (_cell(html, 2, "progress"), _cell(html, 2, "feedback")) == ("50%", "75%")
    page = teacher.get(f"/analytics/courses/{course.pk}/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (_cell(html, 1, "progress"), _cell(html, 2, "feedback")) == ("75%", "75%")
    weeks = teacher.get(f"/api/v1/analytics/courses/{course.pk}/weeks").json()
    assert [week["active_students"] for week in weeks] == [2, 3, 1]
    assert weeks[0]["learning_progress"] == pytest.approx(0.75)
    assert weeks[1]["feedback"] == pytest.approx(0.75)
    assert 'id="analytics-heat-map"' in html
    assert 'id="analytics-at-risk"' in html

    # s3 has no graded work: their next step is Photosynthesis with the Light material, and a
    # practice question written on the inference worker (or built from the material).
    _wait(
        lambda: NextStep.objects.filter(
            user=s3, status__in=[NextStep.Status.GENERATED, NextStep.Status.FALLBACK]
        ).exists(),
        timeout=400,
        what="the practice question",
    )
    step = NextStep.objects.get(user=s3)
    assert (step.knowledge_point, step.material) == (point, m1)
    assert step.question
    assert step.status == NextStep.Status.GENERATED or step.rejection  # a fallback says why
    print(f"next step: {step.status}; {step.rejection or 'generated'}; {step.question!r}")
    own = students["u-s3"].get("/lti/resource/").content.decode()  # the LTI student page
    assert "Photosynthesis" in own
    assert "Light" in own
    assert "practice-question" in own
    # Students cannot open the dashboard.
    assert students["u-s3"].get(f"/analytics/courses/{course.pk}/dashboard/").status_code == 404
