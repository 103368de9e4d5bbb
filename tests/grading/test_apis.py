import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from grading.models import ConfirmedGrade, Submission
from tests.factories import AiGradeFactory, EnrollmentFactory, SubmissionFactory, UserFactory

from .conftest import GOOD_ANSWER

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_student_submits_text_and_reads_it_back_without_the_ai_grade(
    assignment, student, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = _client(student).post(
            f"/api/v1/grading/assignments/{assignment.pk}/submissions/", {"text": GOOD_ANSWER}, format="json"
        )
    assert response.status_code == 201, response.content
    assert (response.data["status"], response.data["attempt"], response.data["released"]) == (
        "queued",
        1,
        False,
    )
    submission = Submission.objects.get()
    AiGradeFactory.create(submission=submission)
    detail = _client(student).get(f"/api/v1/grading/submissions/{submission.pk}/")
    assert detail.status_code == 200
    assert "ai_grade" not in detail.data
    assert detail.data["feedback"] == []


def test_an_unreadable_upload_answers_400_with_the_kept_submission(assignment, student):
    upload = SimpleUploadedFile("essay.pdf", b"plain text pretending", content_type="application/pdf")
    response = _client(student).post(
        f"/api/v1/grading/assignments/{assignment.pk}/submissions/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "not a PDF" in response.data["detail"]
    assert "kept" in response.data["detail"]
    assert Submission.objects.get(pk=response.data["submission_id"]).status == "unreadable"


def test_empty_submission_is_400(assignment, student):
    response = _client(student).post(
        f"/api/v1/grading/assignments/{assignment.pk}/submissions/", {"text": "  "}, format="json"
    )
    assert response.status_code == 400
    assert "empty" in response.data["detail"]


def test_outsiders_cannot_submit_or_read(assignment, student):
    outsider = UserFactory.create()
    response = _client(outsider).post(
        f"/api/v1/grading/assignments/{assignment.pk}/submissions/", {"text": "x"}, format="json"
    )
    assert response.status_code == 403
    submission = SubmissionFactory.create(assignment=assignment, student=student)
    classmate = UserFactory.create()
    EnrollmentFactory.create(course=assignment.course, user=classmate)
    assert _client(classmate).get(f"/api/v1/grading/submissions/{submission.pk}/").status_code == 404
    assert APIClient().get(f"/api/v1/grading/submissions/{submission.pk}/").status_code == 401


def test_instructor_queue_approve_override_and_bulk(
    assignment, student, instructor, django_capture_on_commit_callbacks
):
    first = AiGradeFactory.create(submission__assignment=assignment, score=4, confidence=0.2).submission
    second = AiGradeFactory.create(submission__assignment=assignment, score=9, confidence=0.9).submission
    third = AiGradeFactory.create(submission__assignment=assignment, score=5, confidence=0.5).submission
    client = _client(instructor)
    queue = client.get(f"/api/v1/grading/assignments/{assignment.pk}/review-queue/")
    assert [entry["submission_id"] for entry in queue.data] == [first.pk, third.pk, second.pk]
    assert (
        _client(student).get(f"/api/v1/grading/assignments/{assignment.pk}/review-queue/").status_code == 403
    )

    with django_capture_on_commit_callbacks(execute=False):
        out_of_range = client.post(
            f"/api/v1/grading/submissions/{first.pk}/override/", {"score": "11"}, format="json"
        )
        assert out_of_range.status_code == 400
        assert "outside this assignment's range: enter 0 to 10" in out_of_range.data["score"][0]
        overridden = client.post(
            f"/api/v1/grading/submissions/{first.pk}/override/",
            {"score": "6.5", "comment": "Close."},
            format="json",
        )
        approved = client.post(f"/api/v1/grading/submissions/{second.pk}/approve/")
        bulk = client.post(
            f"/api/v1/grading/assignments/{assignment.pk}/approve/",
            {"submission_ids": [third.pk]},
            format="json",
        )
    assert overridden.data["score"] == "6.50"
    assert overridden.data["decision"] == "overridden"
    assert approved.data["decision"] == "approved"
    assert bulk.data[0]["submission_id"] == third.pk
    assert ConfirmedGrade.objects.count() == 3
    detail = client.get(f"/api/v1/grading/submissions/{first.pk}/")
    assert detail.data["ai_grade"]["score"] == "4.00"
    assert detail.data["score"] == "6.50"
    assert detail.data["feedback"][0]["comment"] == "Close."
    assert client.get(f"/api/v1/grading/assignments/{assignment.pk}/review-queue/").data == []


def test_a_student_cannot_approve(assignment, student):
    submission = AiGradeFactory.create(submission__assignment=assignment).submission
    assert _client(student).post(f"/api/v1/grading/submissions/{submission.pk}/approve/").status_code == 403
    assert not ConfirmedGrade.objects.exists()


def test_override_edits_feedback_and_points_per_criterion_with_clear_400s(
    graded_by_criteria, student, instructor, django_capture_on_commit_callbacks
):
    submission = graded_by_criteria
    url = f"/api/v1/grading/submissions/{submission.pk}/override/"
    client = _client(instructor)
    edit = {"criterion": "Concentration", "next_step": "Say which side has more solute."}
    refusals = [
        ({"score": "7", "feedback": [{"criterion": "Spelling", "next_step": "x"}]}, "feedback"),
        ({"score": "7", "feedback": [{**edit, "missing": "m" * 1001}]}, "feedback"),
        ({"score": "7", "criterion_scores": {"Water movement": "4"}}, "criterion_scores"),
        ({"score": "7", "keep_ai_feedback": False, "feedback": [edit]}, "keep_ai_feedback"),
        ({"score": "7", "comment": "c" * 4001}, "comment"),
    ]
    for body, field in refusals:
        refused = client.post(url, body, format="json")
        assert refused.status_code == 400, body
        assert list(refused.data) == [field]
    unknown = client.post(url, {"score": "7", "feedback": [{**edit, "nextstep": "x"}]}, format="json")
    assert unknown.status_code == 400
    assert "Unknown feedback field nextstep" in str(unknown.data["feedback"])
    assert (
        "“Spelling” is not a criterion of this grade"
        in client.post(url, refusals[0][0], format="json").data["feedback"][0]
    )
    assert not ConfirmedGrade.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        overridden = client.post(
            url,
            {
                "score": "7",
                "feedback": [edit],
                "criterion_scores": {"Water movement": 4, "Concentration": "1.5", "Membrane": "1.5"},
            },
            format="json",
        )
    assert overridden.status_code == 200, overridden.data
    assert overridden.data["decision"] == "overridden"
    # The student reads the edited feedback with the points per criterion.
    mine = _client(student).get(f"/api/v1/grading/submissions/{submission.pk}/").data
    assert mine["score"] == "7.00"
    concentration = next(item for item in mine["feedback"] if item["criterion"] == "Concentration")
    assert concentration["next_step"] == "Say which side has more solute."
    assert (concentration["score"], concentration["max_points"], concentration["source"]) == (
        1.5,
        3.0,
        "edited",
    )
    assert "ai_grade" not in mine


def test_a_submission_costs_a_bounded_number_of_queries(
    assignment, student, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # bench/lti_launch_profile.py: each query of this path is paid at every submission. Checks
    # (membership, attempts) and the stored-first write stay; the user, the grade the student
    # may not see and the learning event's constraint check are not read again.
    url = f"/api/v1/grading/assignments/{assignment.pk}/submissions/"
    client = _client(student)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, {"text": GOOD_ANSWER}, format="json")
        with django_assert_max_num_queries(13):
            response = client.post(url, {"text": GOOD_ANSWER}, format="json")
    assert response.status_code == 201, response.content
    assert response.data["attempt"] == 2
    assert Submission.objects.filter(superseded=False).count() == 1
