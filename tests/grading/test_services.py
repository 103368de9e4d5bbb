from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analytics.models import LearningEvent
from eduai.audit.models import AuditEntry
from eduai.lti.models import ScorePassback
from eduai.privacy.pseudonyms import pseudonym
from grading import services
from grading.models import AiGrade, Assignment, ConfirmedGrade, Submission
from grading.services import (
    AssignmentData,
    GradeError,
    SubmissionError,
    assignment_update,
    grade_approve,
    grade_override,
    grades_bulk_approve,
    rubric_validate,
    submission_create,
)
from tests.factories import AiGradeFactory, SubmissionFactory, UserFactory

from .conftest import GOOD_ANSWER, RUBRIC, WEAK_ANSWER

pytestmark = pytest.mark.django_db


# --- Rubrics and assignments -------------------------------------------------------------------
def test_rubric_points_must_add_up_to_the_maximum_score():
    with pytest.raises(ValidationError, match="add up to 9, but the maximum score is 10"):
        rubric_validate(rubric=[*RUBRIC[:2], {"name": "Membrane", "points": 2}], max_score=Decimal(10))
    assert [c["points"] for c in rubric_validate(rubric=RUBRIC, max_score=Decimal(10))] == [4.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ("not a list", "must be a list"),
        ([{"points": 10}], "Criterion 1 has no name"),
        ([{"name": "A", "points": "ten"}], "must be a number"),
        ([{"name": "A", "points": -1}, {"name": "B", "points": 11}], "more than 0"),
        ([{"name": "A", "points": 5}, {"name": "a", "points": 5}], "Two criteria"),
        (
            [{"name": "A", "points": 10, "levels": [{"label": "Top", "points": 12}]}],
            "levels must be worth 0 to 10",
        ),
        ([{"name": "A", "points": 10, "levels": [{"label": "Some", "points": 5}]}], "best level"),
    ],
)
def test_bad_rubrics_get_a_clear_message(rubric, message):
    with pytest.raises(ValidationError, match=message):
        rubric_validate(rubric=rubric, max_score=Decimal(10))


def test_rubric_levels_are_kept_sorted():
    rubric = [
        {
            "name": "A",
            "points": 10,
            "levels": [{"label": "Full", "points": 10}, {"label": "None", "points": 0}],
        }
    ]
    (criterion,) = rubric_validate(rubric=rubric, max_score=Decimal(10))
    assert [level["label"] for level in criterion["levels"]] == ["None", "Full"]


def test_assignment_update_rejects_a_bad_score_range_and_keeps_the_old_values(assignment):
    data = AssignmentData(title="Osmosis", prompt="Explain.", min_score=Decimal(10), max_score=Decimal(10))
    with pytest.raises(ValidationError, match="score range"):
        assignment_update(assignment=assignment, data=data)
    assignment.refresh_from_db()
    assert assignment.prompt == "Explain osmosis."


# --- Submissions -------------------------------------------------------------------------------
def test_a_text_submission_is_stored_audited_recorded_and_enqueued(
    assignment, student, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[object] = []
    monkeypatch.setattr(services, "_enqueue_scoring", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
    assert (submission.status, submission.attempt, submission.is_late) == ("queued", 1, False)
    assert enqueued == [[submission.pk]]
    event = LearningEvent.objects.get(verb="submitted")
    assert event.object_id == str(assignment.pk)
    assert event.user == student


def test_a_file_submission_keeps_the_file_and_uses_its_text(
    assignment, student, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("answer.txt", "Osmosis moves water. Café.".encode("cp1252"))
    with django_capture_on_commit_callbacks(execute=False):
        submission = submission_create(assignment=assignment, student=student, text="My note.", upload=upload)
    assert submission.text == "My note.\n\nOsmosis moves water. Café."
    assert submission.filename == "answer.txt"
    with submission.file.open("rb") as stored:
        assert stored.read() == "Osmosis moves water. Café.".encode("cp1252")


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("answer.pdf", b"this is not a pdf", "not a PDF"),
        ("answer.txt", b"\x00\x01\x02\x03binary\x00\xff", "binary"),
        ("answer.docx", b"PK\x03\x04junk", "damaged"),
        ("answer.txt", b"  \n  ", "no text"),
    ],
)
def test_an_unreadable_file_is_kept_with_a_clear_message_and_costs_no_attempt(
    assignment, student, filename, data, message, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(SubmissionError, match=message) as raised,
    ):
        submission_create(assignment=assignment, student=student, upload=SimpleUploadedFile(filename, data))
    kept = Submission.objects.get()
    assert raised.value.submission == kept
    assert kept.status == Submission.Status.UNREADABLE
    assert message in kept.error
    with kept.file.open("rb") as stored:
        assert stored.read() == data
    assert callbacks == []  # nothing enqueued
    # The attempt was not used: two more are still possible.
    with django_capture_on_commit_callbacks(execute=False):
        assert submission_create(assignment=assignment, student=student, text="a").attempt == 1


@pytest.mark.parametrize(
    ("text", "upload", "message"),
    [
        ("   \n", None, "empty"),
        ("x" * 50_001, None, "50,001 characters; the most accepted is 50,000"),
        ("text with a \x00 byte", None, "binary data"),
        ("", SimpleUploadedFile("answer.exe", b"MZ"), "not a file type we accept"),
        ("", SimpleUploadedFile("answer.html", b"<p>x</p>"), "not a file type we accept"),
        ("", SimpleUploadedFile("answer.txt", b""), "is empty"),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(assignment, student, text, upload, message):
    with pytest.raises(SubmissionError, match=message):
        submission_create(assignment=assignment, student=student, text=text, upload=upload)
    assert not Submission.objects.exists()


def test_a_file_over_the_size_limit_is_refused(assignment, student, settings):
    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(SubmissionError, match="largest file accepted is 10 bytes"):
        submission_create(
            assignment=assignment, student=student, upload=SimpleUploadedFile("a.txt", b"x" * 11)
        )


def test_attempts_resubmission_and_supersession(assignment, student, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = submission_create(assignment=assignment, student=student, text="First")
        second = submission_create(assignment=assignment, student=student, text="Second")
        with pytest.raises(SubmissionError, match="used all 2 attempt"):
            submission_create(assignment=assignment, student=student, text="Third")
    first.refresh_from_db()
    assert (first.superseded, second.superseded, second.attempt) == (True, False, 2)


def test_late_work_is_flagged_or_refused(assignment, student, django_capture_on_commit_callbacks):
    assignment.due_at = timezone.now() - timedelta(hours=1)
    assignment.save()
    with django_capture_on_commit_callbacks(execute=False):
        assert submission_create(assignment=assignment, student=student, text="Late").is_late
    assignment.accept_late = False
    assignment.save()
    with pytest.raises(SubmissionError, match="due date has passed"):
        submission_create(assignment=assignment, student=student, text="Later")


# --- Scoring (the real cold-start scorer and the runtime's encoder) ------------------------------
def test_scoring_stores_score_criteria_confidence_model_and_feedback(
    assignment, student, django_capture_on_commit_callbacks, monkeypatch
):
    prompts = []
    real_item = services.grading_item

    def recording_item(**kwargs):
        item = real_item(**kwargs)
        prompts.append(item.answer)
        return item

    monkeypatch.setattr(services, "grading_item", recording_item)
    with django_capture_on_commit_callbacks(execute=False):
        good = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER + " Stuart Dentley")
        other = UserFactory.create()
        weak = SubmissionFactory.create(
            assignment=assignment, student=other, text=WEAK_ANSWER, status="queued"
        )
    grades = services.submissions_score(submission_ids=[good.pk, weak.pk], use_model_feedback=False)
    assert len(grades) == 2
    by_submission = {grade.submission_id: grade for grade in AiGrade.objects.all()}
    good_grade, weak_grade = by_submission[good.pk], by_submission[weak.pk]
    assert good_grade.score > weak_grade.score
    assert 0 <= good_grade.confidence <= 1
    assert good_grade.model_name == "cold-start"
    assert good_grade.model_version is None
    assert [c["name"] for c in good_grade.criteria] == ["Water movement", "Concentration", "Membrane"]
    assert [f["criterion"] for f in good_grade.feedback] == ["Water movement", "Concentration", "Membrane"]
    # The student's name was redacted before the scorer saw the text.
    assert all("Stuart" not in prompt and "Dentley" not in prompt for prompt in prompts)
    good.refresh_from_db()
    assert good.status == "scored"
    assert good.released_at is None
    # Running the same batch again does nothing.
    assert services.submissions_score(submission_ids=[good.pk, weak.pk], use_model_feedback=False) == []


def test_auto_release_above_the_threshold_posts_once(
    assignment, student, django_capture_on_commit_callbacks, lti_resource_link
):
    assignment.release_policy = Assignment.ReleasePolicy.AUTO
    assignment.auto_release_confidence = 0.0
    assignment.resource_link = lti_resource_link
    assignment.save()
    with django_capture_on_commit_callbacks(execute=False):
        submission = submission_create(assignment=assignment, student=student, text=GOOD_ANSWER)
        services.submissions_score(submission_ids=[submission.pk], use_model_feedback=False)
    submission.refresh_from_db()
    assert submission.released_at is not None
    assert ScorePassback.objects.get().score_given == submission.released_score
    release = AuditEntry.objects.get(action=AuditEntry.Action.GRADE_RELEASE)
    assert release.details["automatic"] is True
    assert release.actor_label == "system"
    assert release.details["submission_id"] == submission.pk
    # The instructor's later approval of the same score posts nothing again.
    with django_capture_on_commit_callbacks(execute=False):
        grade_approve(submission=submission, reviewer=UserFactory.create())
    assert ScorePassback.objects.count() == 1


# --- Review ------------------------------------------------------------------------------------
@pytest.fixture
def lti_resource_link(course):
    from lti_tool.models import LtiResourceLink

    return LtiResourceLink.objects.create(context=_context(course), id_on_platform="rl-1", title="Osmosis")


def _context(course):
    from lti_tool.models import LtiContext, LtiDeployment, LtiRegistration

    registration = LtiRegistration.objects.create(name="LMS", issuer="https://lms.test", client_id="c")
    deployment = LtiDeployment.objects.create(registration=registration, deployment_id="1")
    context = LtiContext.objects.create(deployment=deployment, id_on_platform="ctx")
    course.lti_context = context
    course.save()
    return context


@pytest.fixture
def graded(assignment, student):
    submission = SubmissionFactory.create(assignment=assignment, student=student, status="scored")
    AiGradeFactory.create(submission=submission, score=Decimal("6.5"), confidence=0.4)
    return submission


def test_approve_confirms_audits_releases_and_posts_once(
    graded, instructor, lti_resource_link, django_capture_on_commit_callbacks
):
    graded.assignment.resource_link = lti_resource_link
    graded.assignment.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        confirmed = grade_approve(submission=graded, reviewer=instructor)
        grade_approve(submission=graded, reviewer=instructor)  # a double click
    assert (confirmed.score, confirmed.decision, confirmed.confirmed_by) == (
        Decimal("6.5"),
        "approved",
        instructor,
    )
    passback = ScorePassback.objects.get()
    assert (passback.score_given, passback.student) == (Decimal("6.5"), graded.student)
    assert "Clear." in passback.comment
    sends = [callback for callback in callbacks if "score_passback" in callback.__qualname__]
    assert len(sends) == 1  # one send task
    graded.refresh_from_db()
    assert graded.released_score == Decimal("6.5")
    assert graded.released_feedback[0]["strengths"] == "Clear."
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["grade.approve", "grade.release", "grade.approve"]
    subjects = {details["student"] for details in AuditEntry.objects.values_list("details", flat=True)}
    assert subjects == {pseudonym(user_id=graded.student_id, course_id=graded.assignment.course_id)}
    assert LearningEvent.objects.get(verb="graded").result_score == pytest.approx(0.65)


def test_override_outside_the_range_is_refused_and_changes_nothing(graded, instructor):
    for score in ["10.5", "-1", "abc", "NaN", "7.123"]:
        with pytest.raises(GradeError):
            grade_override(submission=graded, reviewer=instructor, score=score)
    assert not ConfirmedGrade.objects.exists()
    graded.refresh_from_db()
    assert graded.released_at is None


def test_override_replaces_score_and_adds_the_comment(graded, instructor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        confirmed = grade_override(submission=graded, reviewer=instructor, score="8", comment="Good work.")
    assert (confirmed.score, confirmed.ai_score, confirmed.decision) == (
        Decimal(8),
        Decimal("6.5"),
        "overridden",
    )
    assert confirmed.feedback[0] == {
        "criterion": "Instructor",
        "comment": "Good work.",
        "source": "instructor",
    }
    assert len(confirmed.feedback) == 2
    with django_capture_on_commit_callbacks(execute=False):
        replaced = grade_override(
            submission=graded, reviewer=instructor, score="9", comment="", keep_ai_feedback=False
        )
    assert replaced.feedback == []
    assert ConfirmedGrade.objects.count() == 1


def test_bulk_approve_only_touches_graded_submissions_of_the_assignment(
    assignment, graded, instructor, django_capture_on_commit_callbacks
):
    ungraded = SubmissionFactory.create(assignment=assignment, status="queued")
    elsewhere = AiGradeFactory.create().submission
    with django_capture_on_commit_callbacks(execute=False):
        confirmed = grades_bulk_approve(
            assignment=assignment, submission_ids=[graded.pk, ungraded.pk, elsewhere.pk], reviewer=instructor
        )
    assert [c.submission for c in confirmed] == [graded]


def test_approve_without_an_ai_grade_is_refused(assignment, instructor):
    submission = SubmissionFactory.create(assignment=assignment, status="queued")
    with pytest.raises(GradeError, match="no AI grade"):
        grade_approve(submission=submission, reviewer=instructor)


# --- The training hook -------------------------------------------------------------------------
def test_each_confirmed_grade_asks_the_fine_tuning_pipeline(
    assignment, instructor, django_capture_on_commit_callbacks, monkeypatch
):
    """The pipeline's own threshold decides (tests/eduai/ml/training/ test it through a worker)."""
    from eduai.ml.training import services as training_services

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(
        training_services, "training_trigger_check", lambda *, task, scope: asked.append((task, scope))
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            submission = AiGradeFactory.create(submission__assignment=assignment).submission
            grade_approve(submission=submission, reviewer=instructor)
    assert asked == [("grading_scorer", f"assignment:{assignment.pk}")] * 2


def test_a_transient_error_leaves_the_batch_queued_for_the_retry(assignment, student, monkeypatch):
    from django.db import OperationalError

    submission = SubmissionFactory.create(assignment=assignment, student=student, status="queued")

    def unreachable(*args, **kwargs):
        raise OperationalError("database restarting")

    monkeypatch.setattr(services, "_score_assignment_batch", unreachable)
    with pytest.raises(OperationalError):
        services.submissions_score(submission_ids=[submission.pk])
    submission.refresh_from_db()
    assert submission.status == "queued"
    monkeypatch.setattr(services, "_score_assignment_batch", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.submissions_score(submission_ids=[submission.pk])
    submission.refresh_from_db()
    assert submission.status == "failed"
    assert "ZeroDivisionError" in submission.error
