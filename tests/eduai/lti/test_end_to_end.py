"""The whole LTI Advantage journey against the loopback LMS, in the order a course lives it."""

from decimal import Decimal

import pytest
import requests
from django.test import Client
from lti_tool.models import LtiLineItem, LtiUser

from eduai.courses.models import Enrollment
from eduai.lti.models import ScorePassback
from eduai.lti.selectors import lms_results_list
from eduai.lti.services import roster_sync, score_passback_enqueue, score_passback_send
from grading.models import Assignment
from tests.eduai.lti.conftest import form_of

pytestmark = pytest.mark.django_db


def test_place_launch_grade_and_roster(lti_flow, django_capture_on_commit_callbacks):
    platform = lti_flow.platform
    teacher = Client()

    # The instructor adds a graded assignment through deep linking; the LMS accepts the response.
    page = lti_flow.launch(teacher, "u-teacher", message="deep_link")
    assert page.status_code == 200
    _, fields = form_of(page.content.decode())
    chosen = {"kind": "assignment", "title": "Osmosis", "prompt": "Explain osmosis.", "max_score": "10"}
    response = teacher.post("/lti/deep-link/", {"launch_id": fields["launch_id"], **chosen})
    action, response_fields = form_of(response.content.decode())
    assert requests.post(action, data={"JWT": response_fields["JWT"]}, timeout=10).status_code == 200
    assignment = Assignment.objects.get(title="Osmosis")

    # The LMS creates the link; the student opens it and sees the assignment.
    custom = {"eduai_assignment": str(assignment.pk)}
    student_page = lti_flow.launch(Client(), "u-student", resource_link_id="rl-osmosis", custom=custom)
    assert "Explain osmosis." in student_page.content.decode()
    # The instructor opens the same link and gets the instructor page.
    teacher_page = lti_flow.launch(Client(), "u-teacher", resource_link_id="rl-osmosis", custom=custom)
    assert "Instructor view: Osmosis" in teacher_page.content.decode()

    # An approved grade goes to the gradebook (AGS), and reads back as a result.
    student = LtiUser.objects.get(sub="u-student").auth_user
    with django_capture_on_commit_callbacks(execute=False):
        passback = score_passback_enqueue(assignment=assignment, student=student, score_given=Decimal("8.5"))
    assert score_passback_send(passback_id=passback.pk).status == ScorePassback.Status.SENT
    (line_item,) = platform.store["lineitems"].values()
    assert (line_item["label"], line_item["scoreMaximum"]) == ("Osmosis", 10.0)
    (result,) = lms_results_list(line_item=LtiLineItem.objects.get())
    assert (result["userId"], result["resultScore"]) == ("u-student", 8.5)

    # The roster (NRPS) brings in a classmate who has never launched.
    platform.users["u-other"] = {"sub": "u-other", "roles": ["Learner"], "name": "Other Student"}
    assert roster_sync(course_id=assignment.course_id).active == 3
    assert Enrollment.objects.filter(course=assignment.course, role="learner").count() == 2
