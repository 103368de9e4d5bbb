"""The instructor dashboard, the CSV exports and the BI API: numbers shown, and who may see them."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from analytics.models import NextStep
from analytics.risk_services import at_risk_score_course
from analytics.services import event_record, knowledge_point_create, knowledge_point_tag
from analytics.weekly_services import course_calendar_set, course_week_metrics_update, planned_item_set
from eduai.audit.models import AuditEntry
from eduai.courses.models import Enrollment
from eduai.privacy.pseudonyms import pseudonym
from tests.factories import CourseFactory, EnrollmentFactory, MaterialFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.fixture
def course_data():
    course = CourseFactory.create(title="Biology")
    course_calendar_set(course=course, starts_on=date(2026, 1, 5))
    teacher = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    ada = EnrollmentFactory.create(
        course=course, user=UserFactory.create(first_name="Ada", last_name="L")
    ).user
    bob = EnrollmentFactory.create(
        course=course, user=UserFactory.create(first_name="Bob", last_name="M")
    ).user
    reading = MaterialFactory.create(course=course, title="Cells", text="Cells are the basic unit of life.")
    planned_item_set(course=course, week=1, material=reading)
    point = knowledge_point_create(course=course, name="Cells")
    knowledge_point_tag(knowledge_point=point, materials=[reading])
    event_record(
        user=ada,
        course=course,
        verb="viewed",
        object_type="material",
        object_id=str(reading.pk),
        timestamp=START,
    )
    event_record(
        user=ada,
        course=course,
        verb="graded",
        object_type="assignment",
        object_id="9",
        timestamp=START,
        result_score=0.9,
        knowledge_points=[point],
    )
    event_record(
        user=bob,
        course=course,
        verb="rated",
        object_type="answer",
        object_id="1",
        timestamp=START + timedelta(days=1),
        result_score=0.5,
    )
    course_week_metrics_update(course=course, now=START + timedelta(days=30))
    at_risk_score_course(course=course, now=START + timedelta(days=30))
    return course, teacher, ada, bob


def test_the_instructor_sees_the_weekly_numbers_heat_map_and_ranked_list(course_data):
    course, teacher, _ada, _bob = course_data
    client = Client()
    client.force_login(teacher)
    page = client.get(reverse("analytics-web:dashboard", args=[course.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # Week 1: Ada and Bob active; L = (1 + 0) / 2; M = (0.9 + 0.5) / 2.
    assert 'data-metric="progress">50%</td>' in html
    assert 'data-metric="feedback">70%</td>' in html
    assert 'id="analytics-heat-map"' in html
    assert "Ada L, Cells: " in html
    assert "Bob M" in html
    assert 'id="analytics-at-risk"' in html
    assert "No activity for" in html  # a reason in words


def test_other_users_do_not_see_the_dashboard(course_data):
    course, _teacher, ada, _bob = course_data
    outsider = EnrollmentFactory.create(role=Enrollment.Role.INSTRUCTOR).user
    for user in (ada, outsider):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("analytics-web:dashboard", args=[course.pk])).status_code == 404
        assert client.get(reverse("analytics-web:export", args=[course.pk, "weeks"])).status_code == 404
    assert Client().get(reverse("analytics-web:dashboard", args=[course.pk])).status_code == 302


def test_csv_exports_use_pseudonyms(course_data):
    course, teacher, ada, _bob = course_data
    client = Client()
    client.force_login(teacher)
    weeks = client.get(reverse("analytics-web:export", args=[course.pk, "weeks"])).content.decode()
    header, week1 = weeks.splitlines()[:2]
    values = dict(zip(header.split(","), week1.split(","), strict=True))
    assert (values["week"], values["active_students"], values["learning_progress"]) == ("1", "2", "0.5")
    mastery = client.get(reverse("analytics-web:export", args=[course.pk, "mastery"])).content.decode()
    assert pseudonym(user_id=ada.pk, course_id=course.pk) in mastery
    assert "Ada" not in mastery
    at_risk = client.get(reverse("analytics-web:export", args=[course.pk, "at-risk"])).content.decode()
    assert at_risk.startswith("rank,student,risk")
    assert "Bob" not in at_risk
    assert client.get(reverse("analytics-web:export", args=[course.pk, "secrets"])).status_code == 404
    # Each export is in the audit log: who, which course and table, how many rows; no data.
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.COURSE_EXPORT).order_by("id")
    assert [(e.actor_id, e.course_id, e.details["table"]) for e in exported] == [
        (teacher.pk, course.pk, "weeks"),
        (teacher.pk, course.pk, "mastery"),
        (teacher.pk, course.pk, "at-risk"),
    ]
    assert exported[1].details["rows"] == len(mastery.splitlines()) - 1


def test_api_gives_instructors_their_course_and_students_only_their_mastery(course_data):
    course, teacher, ada, bob = course_data
    client = Client()
    client.force_login(teacher)
    weeks = client.get(reverse("analytics:course-weeks", args=[course.pk])).json()
    assert weeks[0]["learning_progress"] == pytest.approx(0.5)
    assert weeks[0]["feedback"] == pytest.approx(0.7)
    risk = client.get(reverse("analytics:course-at-risk", args=[course.pk])).json()
    assert [row["rank"] for row in risk] == [1, 2]
    assert all("text" in reason for row in risk for reason in row["reasons"])
    assert len(client.get(reverse("analytics:course-mastery", args=[course.pk])).json()) == 1

    student = Client()
    student.force_login(bob)
    assert student.get(reverse("analytics:course-mastery", args=[course.pk])).json() == []
    student.force_login(ada)
    (own,) = student.get(reverse("analytics:course-mastery", args=[course.pk])).json()
    assert own["student"] == pseudonym(user_id=ada.pk, course_id=course.pk)
    assert student.get(reverse("analytics:course-weeks", args=[course.pk])).status_code == 403
    assert student.get(reverse("analytics:course-at-risk", args=[course.pk])).status_code == 403
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(reverse("analytics:course-mastery", args=[course.pk])).status_code == 403


def test_the_student_page_chooses_a_next_step_and_queues_its_question(
    course_data, django_capture_on_commit_callbacks
):
    course, _teacher, _ada, bob = course_data
    client = Client()
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = client.get(reverse("analytics-web:next-step", args=[course.pk]))
    assert page.status_code == 200
    assert "Work on <strong>Cells</strong>" in page.content.decode()
    assert "being prepared" in page.content.decode()
    assert len(callbacks) == 1  # the generation task, after the commit
    assert NextStep.objects.get(user=bob).status == NextStep.Status.PENDING


def test_the_panels_render_inside_any_lti_page(course_data):
    """What lti/instructor.html and lti/student.html include: the tags read stored rows only."""
    from django.db import connection
    from django.template import Context, Template
    from django.test.utils import CaptureQueriesContext

    course, _teacher, ada, _bob = course_data
    template = Template("{% load analytics %}{% course_dashboard course %}{% next_step_panel course user %}")
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"course": course, "user": ada}))
    assert 'id="analytics-dashboard"' in html
    assert 'id="next-step"' in html
    assert not any(query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) for query in queries)
