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


# --- Overrides: edited feedback and points per criterion -----------------------------------------
def _override(submission, reviewer, callbacks, **kwargs):
    with callbacks(execute=False):
        return grade_override(submission=submission, reviewer=reviewer, **kwargs)


def test_an_edited_criterion_feedback_is_released_stored_and_audited(
    graded_by_criteria, instructor, lti_resource_link, django_capture_on_commit_callbacks
):
    submission = graded_by_criteria
    submission.assignment.resource_link = lti_resource_link
    submission.assignment.save()
    edited = "  Name the membrane, Stuart: it lets water through but not salt.\r\nThen compare.  "
    confirmed = _override(
        submission,
        instructor,
        django_capture_on_commit_callbacks,
        score="6",
        comment="See my note on water.",
        feedback=[
            {"criterion": "Water movement", "next_step": edited},
            # Sent back as the AI wrote it: not an edit.
            {"criterion": "Membrane", "strengths": "Membrane: a start."},
        ],
    )
    by_name = {item["criterion"]: item for item in confirmed.feedback}
    water = by_name["Water movement"]
    assert (
        water["next_step"] == "Name the membrane, Stuart: it lets water through but not salt.\nThen compare."
    )
    assert (water["strengths"], water["missing"]) == (
        "Water movement: a start.",
        "Water movement: more detail.",
    )
    assert water["source"] == "edited"
    assert by_name["Membrane"]["source"] == by_name["Concentration"]["source"] == "template"
    # The score is the AI's: the student sees the AI's points per criterion.
    assert [(item["score"], item["max_points"]) for item in confirmed.feedback[1:]] == [
        (3.0, 4.0),
        (1.0, 3.0),
        (2.0, 3.0),
    ]
    submission.refresh_from_db()
    assert submission.released_feedback == confirmed.feedback  # what the student sees
    assert "it lets water through but not salt" in ScorePassback.objects.get().comment  # and the LMS
    assert "Water movement (3 of 4 points)" in ScorePassback.objects.get().comment
    entry = AuditEntry.objects.get(action=AuditEntry.Action.GRADE_OVERRIDE)
    assert entry.details["feedback_edited"] == [{"criterion": "Water movement", "fields": ["next_step"]}]
    assert entry.details["criterion_scores"] is None
    assert entry.details["feedback_sha256"] == services._feedback_sha256(confirmed.feedback)
    # The log keeps no text about the student: not the edit, not the comment, not a name.
    logged = str(entry.details)
    for text in ("salt", "Stuart", "note on water"):
        assert text not in logged
    assert entry.details["student"] == pseudonym(
        user_id=submission.student_id, course_id=submission.assignment.course_id
    )


def test_an_emptied_criterion_is_left_out_and_unticked_feedback_is_not_released(
    graded_by_criteria, instructor, django_capture_on_commit_callbacks
):
    empty = {"criterion": "Concentration", "strengths": "", "missing": None, "next_step": " "}
    confirmed = _override(
        graded_by_criteria, instructor, django_capture_on_commit_callbacks, score="5", feedback=[empty]
    )
    assert [item["criterion"] for item in confirmed.feedback] == ["Water movement", "Membrane"]
    # The instructor changed the total without points per criterion: none are shown.
    assert not any("score" in item for item in confirmed.feedback)
    with pytest.raises(GradeError, match="need the feedback per criterion kept") as refused:
        _override(
            graded_by_criteria,
            instructor,
            django_capture_on_commit_callbacks,
            score="5",
            keep_ai_feedback=False,
            feedback=[{"criterion": "Membrane", "next_step": "x"}],
        )
    assert refused.value.field == "keep_ai_feedback"


@pytest.mark.parametrize(
    ("feedback", "message"),
    [
        ({"criterion": "Membrane"}, "must be a list of criteria"),
        (["Membrane"], "Feedback item 1 must be an object"),
        ([{"criterion": "Spelling", "next_step": "x"}], "“Spelling” is not a criterion of this grade"),
        ([{"next_step": "x"}], "“None” is not a criterion"),
        ([{"criterion": "Membrane"}, {"criterion": "Membrane"}], "The feedback of “Membrane” is given twice"),
        ([{"criterion": "Membrane", "next-step": "x"}], "Unknown feedback field next-step for “Membrane”"),
        ([{"criterion": "Membrane", "missing": 3}], "what is missing of “Membrane” must be text"),
        ([{"criterion": "Membrane", "missing": "a\x00b"}], "must be text"),
        (
            [{"criterion": "Membrane", "next_step": "x" * 1001}],
            "The next step of “Membrane” has 1,001 characters; the most is 1,000.",
        ),
    ],
)
def test_bad_feedback_edits_are_refused_and_change_nothing(
    graded_by_criteria, instructor, django_capture_on_commit_callbacks, feedback, message
):
    with pytest.raises(GradeError, match=message) as refused:
        _override(
            graded_by_criteria, instructor, django_capture_on_commit_callbacks, score="6", feedback=feedback
        )
    assert refused.value.field == "feedback"
    assert not ConfirmedGrade.objects.exists()
    assert not AuditEntry.objects.exists()
    graded_by_criteria.refresh_from_db()
    assert graded_by_criteria.released_at is None


def test_a_long_comment_is_refused(graded_by_criteria, instructor, django_capture_on_commit_callbacks):
    with pytest.raises(GradeError, match=r"The comment has 4,001 characters; the most is 4,000\.") as refused:
        _override(
            graded_by_criteria, instructor, django_capture_on_commit_callbacks, score="6", comment="y" * 4001
        )
    assert refused.value.field == "comment"
    assert not ConfirmedGrade.objects.exists()


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({"Water movement": "4", "Concentration": "3"}, "every criterion or for none: “Membrane” has none"),
        (
            {"Water movement": "4", "Concentration": "3", "Membrane": "1", "Spelling": "0"},
            "“Spelling” is not",
        ),
        ({"Water movement": "5", "Concentration": "2", "Membrane": "1"}, "“Water movement” is worth 0 to 4"),
        ({"Water movement": "4", "Concentration": "two", "Membrane": "2"}, "“two” is not a number"),
        ({"Water movement": "3.333", "Concentration": "3", "Membrane": "1"}, "two decimal places"),
        (
            {"Water movement": "4", "Concentration": "3", "Membrane": "3"},
            "points add up to 10 but the score is 8: make them agree",
        ),
        (["4", "3", "1"], "must be an object"),
    ],
)
def test_bad_points_per_criterion_are_refused(
    graded_by_criteria, instructor, django_capture_on_commit_callbacks, points, message
):
    with pytest.raises(GradeError, match=message) as refused:
        _override(
            graded_by_criteria,
            instructor,
            django_capture_on_commit_callbacks,
            score="8",
            criterion_scores=points,
        )
    assert refused.value.field == "criterion_scores"
    assert not ConfirmedGrade.objects.exists()


def test_points_per_criterion_that_add_up_are_shown_and_audited(
    graded_by_criteria, instructor, django_capture_on_commit_callbacks
):
    points = {"Water movement": "4", "Concentration": "2.5", "Membrane": "1.5"}
    confirmed = _override(
        graded_by_criteria, instructor, django_capture_on_commit_callbacks, score="8", criterion_scores=points
    )
    assert [(item["criterion"], item["score"]) for item in confirmed.feedback] == [
        ("Water movement", 4.0),
        ("Concentration", 2.5),
        ("Membrane", 1.5),
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.GRADE_OVERRIDE)
    assert entry.details["criterion_scores"] == points
    assert entry.details["feedback_edited"] == []


def test_approval_and_automatic_release_show_the_ai_points_per_criterion(
    graded_by_criteria, instructor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        confirmed = grade_approve(submission=graded_by_criteria, reviewer=instructor)
    assert [item.get("score") for item in confirmed.feedback] == [3.0, 1.0, 2.0]
    graded_by_criteria.refresh_from_db()
    assert graded_by_criteria.released_feedback[0]["max_points"] == 4.0


def test_without_an_ai_grade_the_instructor_writes_feedback_for_the_rubric_criteria(
    assignment, student, instructor, django_capture_on_commit_callbacks
):
    submission = SubmissionFactory.create(assignment=assignment, student=student, status="held")
    confirmed = _override(
        submission,
        instructor,
        django_capture_on_commit_callbacks,
        score="7",
        feedback=[{"criterion": "Membrane", "missing": "Say it is semipermeable."}],
        criterion_scores={"Water movement": "4", "Concentration": "3", "Membrane": "0"},
    )
    assert confirmed.ai_score is None
    assert [(item["criterion"], item.get("missing"), item["score"]) for item in confirmed.feedback] == [
        ("Water movement", "", 4.0),
        ("Concentration", "", 3.0),
        ("Membrane", "Say it is semipermeable.", 0.0),
    ]


# --- Grade these again ---------------------------------------------------------------------------
def test_rescore_reads_and_queues_submissions_left_received_in_one_batch(
    assignment, student, django_capture_on_commit_callbacks, monkeypatch
):
    """A request that died between storing the submission and queueing it left it "received"."""
    enqueued: list[list[int]] = []
    monkeypatch.setattr(services, "_enqueue_scoring", enqueued.append)
    others = UserFactory.create_batch(2)
    earlier = SubmissionFactory.create(assignment=assignment, student=student, status="scored")
    typed = SubmissionFactory.create(
        assignment=assignment, student=student, text="Water moves.", status="received"
    )
    with_file = SubmissionFactory.create(
        assignment=assignment, student=others[0], text="My essay:", status="received"
    )
    with_file.filename = "essay.txt"
    with_file.file.save("essay.txt", SimpleUploadedFile("essay.txt", b"Osmosis moves water."), save=True)
    broken = SubmissionFactory.create(assignment=assignment, student=others[1], status="received")
    broken.filename = "essay.pdf"
    broken.file.save("essay.pdf", SimpleUploadedFile("essay.pdf", b"not a pdf"), save=True)
    failed = SubmissionFactory.create(assignment=assignment, status="failed", error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.submissions_rescore(assignment=assignment)
    assert sent == [typed.pk, with_file.pk, failed.pk]
    assert enqueued == [sent]  # one batch
    for submission in (typed, with_file, failed, broken, earlier):
        submission.refresh_from_db()
    assert {typed.status, with_file.status, failed.status} == {"queued"}
    assert with_file.text == "My essay:\n\nOsmosis moves water."  # the file's text is graded too
    assert (broken.status, broken.error) == ("unreadable", "This file is not a PDF.")
    # The received attempt is the current one.
    assert earlier.superseded
    assert not typed.superseded
    submitted = LearningEvent.objects.filter(verb="submitted").values_list("object_id", flat=True)
    assert len(submitted) == 2
    # Again: nothing is left received, and the student's own request, if it comes late, does nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services._submission_queue(submission=typed, text="other")
    typed.refresh_from_db()
    assert typed.text == "Water moves."
    assert LearningEvent.objects.filter(verb="submitted").count() == 2
    assert enqueued == [sent]


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
