"""Issue 6, "Done when": a student submits inside a launched LTI session, the real worker grades it
with the real scorer and writes feedback with the real generator, the instructor approves in the
review queue, and the score arrives at the loopback LMS through AGS exactly once."""

import re
import time

import pytest
import requests
from django.test import Client

from eduai.lti.models import ScorePassback
from grading.models import Assignment, ConfirmedGrade, Submission
from tests.conftest import wait_for
from tests.eduai.lti.conftest import form_of

from .conftest import GOOD_ANSWER, REFERENCE, ai_grade_wait, instructor_approves, student_submits

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_submit_grade_review_approve_and_pass_back_once(lti_flow, celery_worker_process):
    platform = lti_flow.platform
    teacher = Client()

    # The instructor places a new AI-graded assignment through deep linking.
    page = lti_flow.launch(teacher, "u-teacher", message="deep_link")
    _, fields = form_of(page.content.decode())
    chosen = {"kind": "assignment", "title": "Osmosis", "prompt": "Explain osmosis.", "max_score": "10"}
    response = teacher.post("/lti/deep-link/", {"launch_id": fields["launch_id"], **chosen})
    action, response_fields = form_of(response.content.decode())
    assert requests.post(action, data={"JWT": response_fields["JWT"]}, timeout=10).status_code == 200
    assignment = Assignment.objects.get(title="Osmosis")
    hint = {"resource_link_id": "rl-osmosis", "custom": {"eduai_assignment": str(assignment.pk)}}

    # ...opens it, and sets the rubric and reference answer in the instructor page.
    assert "Instructor view: Osmosis" in lti_flow.launch(teacher, "u-teacher", **hint).content.decode()
    edited = teacher.post(
        f"/grading/assignments/{assignment.pk}/edit/",
        {
            "title": "Osmosis",
            "kind": "short_answer",
            "prompt": "Explain osmosis.",
            "rubric": "\n".join(
                [
                    "Water movement | 4 | water crosses a membrane",
                    "Concentration | 3 | low to high solute",
                    "Membrane | 3 | semipermeable",
                ]
            ),
            "reference_answers": REFERENCE,
            "min_score": "0",
            "max_score": "10",
            "release_policy": "manual",
            "auto_release_confidence": "0.9",
            "max_attempts": "1",
            "accept_late": "on",
        },
    )
    assert edited.status_code == 302, edited.content.decode()[:2000]

    # The student launches and submits in the LTI session.
    student, submitted, submission = student_submits(lti_flow, "u-student", assignment, GOOD_ANSWER, **hint)
    assert "Attempt 1 received" in submitted
    assert Submission.objects.get() == submission

    # The real worker scores it (inference queue) and writes feedback with the generator.
    grade = ai_grade_wait(submission)
    assert [item["criterion"] for item in grade.feedback] == ["Water movement", "Concentration", "Membrane"]
    for item in grade.feedback:
        assert all(item[field].strip() for field in ("strengths", "missing", "next_step"))
        # Never the reference answer verbatim (no run of 6 of its words).
        words = re.findall(r"\w+", REFERENCE.lower())
        runs = {" ".join(words[i : i + 6]) for i in range(len(words) - 5)}
        text = " ".join(
            re.findall(r"\w+", " ".join(item[f] for f in ("strengths", "missing", "next_step")).lower())
        )
        assert not any(run in text for run in runs)
    assert grade.model_name == "cold-start"
    assert 0 <= grade.confidence <= 1
    # Not released yet: the student sees no grade.
    assert "Grade:" not in student.get(f"/grading/assignments/{assignment.pk}/").content.decode()

    # The instructor sees it in the review queue and approves it (bulk action, as the page posts it).
    instructor_approves(teacher, assignment, submission)
    assert ConfirmedGrade.objects.get().score == grade.score

    # The default worker posts it through AGS; exactly once.
    wait_for(
        lambda: ScorePassback.objects.filter(status=ScorePassback.Status.SENT).exists(),
        timeout=120,
        what="the score passback",
    )
    approved_again = teacher.post(
        f"/grading/assignments/{assignment.pk}/review/", {"ids": [str(submission.pk)], "action": "approve"}
    )
    assert approved_again.status_code == 302
    time.sleep(3)  # room for any duplicate post to show up
    (posted,) = platform.store["score_posts"]
    assert (posted["userId"], posted["scoreGiven"]) == ("u-student", float(grade.score))
    assert ScorePassback.objects.count() == 1

    # The student now sees the grade and the feedback.
    released = student.get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Grade:" in released
    assert grade.feedback[0]["next_step"][:20] in released.replace("&#x27;", "'")
