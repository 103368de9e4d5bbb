from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from grading.models import Assignment, ConfirmedGrade, Submission
from tests.factories import AiGradeFactory, SubmissionFactory, UserFactory

from .conftest import GOOD_ANSWER

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_lti_student_page_submits_and_keeps_text_on_error(lti_flow, django_capture_on_commit_callbacks):
    teacher = Client()
    lti_flow.launch(teacher, "u-teacher")
    from eduai.courses.models import Course

    assignment = Assignment.objects.create(
        course=Course.objects.get(), title="Osmosis", prompt="Explain osmosis."
    )
    hint = {"resource_link_id": "rl-1", "custom": {"eduai_assignment": str(assignment.pk)}}
    student = Client()
    page = lti_flow.launch(student, "u-student", **hint).content.decode()
    assert "Submit your work" in page
    assert "You have 1 attempt left." in page
    # No shorter limit in the browser than the server's: a long pasted essay is never cut short.
    assert "maxlength" not in page.split('name="text"')[1].split(">")[0]
    assert 'accept=".txt,.md,.docx,.pdf"' in page  # the file types grading accepts, no others
    url = f"/grading/assignments/{assignment.pk}/submit/"
    # Too long: refused, with the text still in the box (htmx fragment).
    long_text = "word " * 10_001
    refused = student.post(url, {"text": long_text}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "the most accepted is 50,000" in body
    assert long_text.strip() in body
    # A PDF that is not a PDF: refused with its reason (the file is kept server-side).
    fake = SimpleUploadedFile("essay.pdf", b"hello")
    refused = student.post(url, {"text": "", "file": fake})
    assert refused.status_code == 400
    assert "This file is not a PDF." in refused.content.decode()
    assert Submission.objects.get().status == "unreadable"
    with django_capture_on_commit_callbacks(execute=False):
        accepted = student.post(url, {"text": GOOD_ANSWER}, HTTP_HX_REQUEST="true")
    assert accepted.status_code == 200
    assert "Attempt 1 received" in accepted.content.decode()
    assert accepted["HX-Redirect"] == f"/grading/assignments/{assignment.pk}/"
    page = student.get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Attempt 1 received" in page  # the toast
    assert "No attempts left" in page
    assert "Grade:" not in page
    assert "could not be read" in page


def test_instructor_page_lists_the_queue_and_chart(assignment, instructor, student):
    AiGradeFactory.create(
        submission__assignment=assignment, submission__student=student, score=6, confidence=0.4
    )
    page = _client(instructor).get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Instructor view: Osmosis" in page
    assert "Stuart Dentley" in page
    assert "40%" in page
    assert 'class="component chart"' in page
    assert "Approve and release" in page


def test_students_and_outsiders_cannot_review(assignment, student):
    submission = AiGradeFactory.create(submission__assignment=assignment).submission
    assert _client(student).get(f"/grading/submissions/{submission.pk}/").status_code == 403
    assert (
        _client(student)
        .post(f"/grading/assignments/{assignment.pk}/review/", {"ids": [submission.pk], "action": "approve"})
        .status_code
        == 403
    )
    assert _client(UserFactory.create()).get(f"/grading/assignments/{assignment.pk}/").status_code == 403
    assert Client().get(f"/grading/assignments/{assignment.pk}/").status_code == 403
    assert not ConfirmedGrade.objects.exists()


def test_review_page_override_out_of_range_then_approve(
    assignment, instructor, student, django_capture_on_commit_callbacks
):
    submission = AiGradeFactory.create(
        submission__assignment=assignment, submission__student=student
    ).submission
    client = _client(instructor)
    url = f"/grading/submissions/{submission.pk}/"
    assert "Score (0 to 10)" in client.get(url).content.decode()
    refused = client.post(url, {"decision": "override", "score": "12", "comment": "Great"})
    assert refused.status_code == 400
    assert "outside this assignment&#x27;s range" in refused.content.decode()
    assert not ConfirmedGrade.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url, {"decision": "approve"}).status_code == 302
    assert ConfirmedGrade.objects.get().score == Decimal(6)
    released = _client(student).get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Grade: 6 out of 10" in released
    assert "Add detail." in released


def test_bulk_review_without_a_choice_is_a_clear_400(assignment, instructor):
    response = _client(instructor).post(
        f"/grading/assignments/{assignment.pk}/review/", {"action": "approve"}
    )
    assert response.status_code == 400
    assert "Choose at least one row" in response.content.decode()


def test_create_and_edit_an_assignment_with_rubric_errors(course, instructor):
    client = _client(instructor)
    form = {
        "title": "Cells",
        "kind": "essay",
        "prompt": "Describe a cell.",
        "rubric": "Structure | 5\nFunction | 4 | what it does",
        "reference_answers": "A cell has a membrane.\n---\nCells are the unit of life.",
        "min_score": "0",
        "max_score": "10",
        "release_policy": "auto",
        "auto_release_confidence": "0.8",
        "max_attempts": "3",
    }
    refused = client.post(f"/grading/courses/{course.pk}/assignments/new/", form)
    assert refused.status_code == 400
    assert "points add up to 9, but the maximum score is 10" in refused.content.decode()
    assert not Assignment.objects.exists()
    form["rubric"] = "Structure | 6\nFunction | 4 | what it does"
    assert client.post(f"/grading/courses/{course.pk}/assignments/new/", form).status_code == 302
    assignment = Assignment.objects.get()
    assert assignment.reference_answers == ["A cell has a membrane.", "Cells are the unit of life."]
    assert [c["points"] for c in assignment.rubric] == [6.0, 4.0]
    assert assignment.release_policy == "auto"
    edit_page = client.get(f"/grading/assignments/{assignment.pk}/edit/").content.decode()
    assert "Function | 4 | what it does" in edit_page
    form["rubric"] = '[{"name": "Bad", "points": 10,'
    refused = client.post(f"/grading/assignments/{assignment.pk}/edit/", form)
    assert refused.status_code == 400
    assert "not valid JSON" in refused.content.decode()


def test_failed_grading_can_be_run_again_as_one_batch(
    assignment, instructor, django_capture_on_commit_callbacks, monkeypatch
):
    from grading import services

    failed = [
        SubmissionFactory.create(assignment=assignment, status="failed", error="boom") for _ in range(3)
    ]
    enqueued: list[object] = []
    monkeypatch.setattr(services, "_enqueue_scoring", enqueued.append)
    page = _client(instructor).get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "3 submissions are waiting for their AI grade." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(instructor).post(f"/grading/assignments/{assignment.pk}/rescore/")
    assert response.status_code == 302
    assert enqueued == [[submission.pk for submission in failed]]
    assert set(Submission.objects.values_list("status", flat=True)) == {"queued"}


def test_grade_these_again_includes_submissions_left_received(
    assignment, instructor, django_capture_on_commit_callbacks, monkeypatch
):
    from grading import services

    left = [
        SubmissionFactory.create(assignment=assignment, status="received", text="Water moves."),
        SubmissionFactory.create(assignment=assignment, status="failed", error="boom"),
    ]
    enqueued: list[object] = []
    monkeypatch.setattr(services, "_enqueue_scoring", enqueued.append)
    client = _client(instructor)
    page = client.get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "2 submissions are waiting for their AI grade." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/grading/assignments/{assignment.pk}/rescore/")
    assert response.status_code == 302
    assert enqueued == [[submission.pk for submission in left]]
    page = client.get(response["Location"]).content.decode()
    assert "2 submissions sent to AI grading." in page  # the toast
    assert "waiting for their AI grade" in page  # queued, until the worker grades them


def test_the_override_form_edits_one_criterion_and_the_student_sees_it_with_points(
    graded_by_criteria, assignment, instructor, student, django_capture_on_commit_callbacks
):
    submission = graded_by_criteria
    client = _client(instructor)
    url = f"/grading/submissions/{submission.pk}/"
    page = client.get(url).content.decode()
    # The AI's feedback, prefilled and editable per criterion, with optional points.
    assert "<legend>Concentration</legend>" in page
    assert "Concentration: say more.</textarea>" in page
    assert "Points (0 to 4)" in page
    assert "AI: 3" in page
    form = {"decision": "override", "score": "7", "comment": "", "keep_ai_feedback": "on"}
    for number, item in enumerate(submission.ai_grade.feedback):
        for field in ("strengths", "missing", "next_step"):
            form[f"{field}_{number}"] = item[field]
        form[f"points_{number}"] = ""
    form["next_step_1"] = "Say which side has more solute."
    # Points that do not add up to the score: refused above the form, every edit kept.
    refused = client.post(url, {**form, "points_0": "4", "points_1": "2", "points_2": "2"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "points add up to 8 but the score is 7" in body
    assert "Say which side has more solute.</textarea>" in body
    assert not ConfirmedGrade.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        saved = client.post(url, {**form, "points_0": "4", "points_1": "1.5", "points_2": "1.5"})
    assert saved.status_code == 302
    confirmed = ConfirmedGrade.objects.get()
    assert confirmed.feedback[1]["next_step"] == "Say which side has more solute."
    released = _client(student).get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Grade: 7 out of 10" in released
    assert "Say which side has more solute." in released
    assert "Concentration: say more." not in released
    assert "1.50 of 3 points" in released
    assert "4 of 4 points" in released
    # Unticked, the per-criterion feedback is not released, whatever its boxes hold.
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, {**form, "keep_ai_feedback": "", "score": "5", "comment": "See me."})
    assert [item["criterion"] for item in ConfirmedGrade.objects.get().feedback] == ["Instructor"]


def test_a_student_sees_no_points_per_criterion_when_the_total_was_changed_without_them(
    graded_by_criteria, assignment, instructor, student, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = _client(instructor).post(
            f"/grading/submissions/{graded_by_criteria.pk}/",
            {"decision": "override", "score": "9", "keep_ai_feedback": "on"},
        )
    assert response.status_code == 302
    released = _client(student).get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Grade: 9 out of 10" in released
    assert "Concentration: say more." in released  # the AI's feedback: no box was posted
    assert " points</p>" not in released
