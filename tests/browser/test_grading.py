"""Grading in Chromium, through the real worker: a student answers in the text box, then again
with a .docx file; the worker AI-grades every answer with the real scorer and writes feedback
with the real generator; the instructor reads the review queue (most in need of review first),
overrides one grade with a comment and an edit of one criterion's feedback, approves one,
bulk-approves the rest; the student then sees the released grade and the feedback per rubric
criterion, as the instructor edited it."""

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from lti_tool.models import Key, LtiRegistration
from playwright.sync_api import Browser, BrowserContext, Page, expect

from eduai.courses.models import Course, Enrollment
from eduai.lti.models import ScorePassback
from grading.models import AiGrade, ConfirmedGrade, Submission
from grading.selectors import review_priority
from grading.services import submission_create
from tests.browser.conftest import (
    FIT_WIDTHS,
    WIDTHS,
    axe_violations,
    has_horizontal_scroll,
    launch_top_level,
    screenshot,
)
from tests.conftest import wait_for
from tests.eduai.documents.files import docx_bytes
from tests.eduai.lti.platform import LoopbackPlatform
from tests.factories import EnrollmentFactory, UserFactory
from tests.grading.conftest import GOOD_ANSWER, WEAK_ANSWER, osmosis_assignment

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
TYPED_ANSWER = "Osmosis is when water moves."
# The second attempt, as a Word file: the student's own paragraphs (the extracted text is graded).
FILE_PARAGRAPHS = [
    ("Heading1", "Osmosis"),
    ("", "Osmosis is water moving through a semipermeable membrane."),
    ("", "Water goes from where there is little solute to where there is a lot of solute."),
]
CLASSMATES = {
    ("Grace", "Hopper"): GOOD_ANSWER,
    ("Alan", "Turing"): WEAK_ANSWER,
    ("Ada", "Lovelace"): "Water crosses a membrane.",
}
COMMENT = "Good use of the word semipermeable; say which side has more solute."
EDITED_NEXT_STEP = "Say which side of the membrane has more solute, and why the water goes there."


@pytest.fixture
def second_context(browser: Browser) -> Iterator[BrowserContext]:
    """The instructor's own browser (its own cookies), next to the student's."""
    context = browser.new_context(viewport={"width": WIDTHS["wide"], "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _student_submits_typed_then_a_file(page: Page, tmp_path: Any) -> None:
    expect(page.get_by_role("heading", name="Submit your work")).to_be_visible()
    expect(page.get_by_text("You have 2 attempts left.")).to_be_visible()
    page.get_by_label("Your answer").fill(TYPED_ANSWER)
    page.get_by_role("button", name="Submit", exact=True).click()
    # The page reloads with the attempt listed; the notice comes as a toast.
    expect(page.locator("#toasts")).to_contain_text("Attempt 1 received.")
    expect(page.get_by_role("heading", name="Attempt 1", exact=False)).to_be_visible()
    expect(page.get_by_text("You have 1 attempt left.")).to_be_visible()

    essay = tmp_path / "osmosis.docx"
    essay.write_bytes(docx_bytes(FILE_PARAGRAPHS))
    page.get_by_label("Or upload a file").set_input_files(str(essay))
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Attempt 2 received.")
    expect(page.get_by_text("Replaced by a later attempt.")).to_be_visible()
    expect(page.get_by_text("No attempts left", exact=True)).to_be_visible()


def test_submit_review_override_approve_bulk_approve_and_release(
    page: Page,
    second_context: BrowserContext,
    lti_platform: LoopbackPlatform,
    lti_registration: LtiRegistration,
    live_server: Any,
    celery_worker_process: Any,
    tmp_path: Any,
) -> None:
    lti_platform.configure(tool_jwks=Key.objects.as_jwks(), tool_base=live_server.url)
    teacher = second_context.new_page()
    launch_top_level(teacher, lti_platform, "u-teacher")  # the course exists from the first launch
    course = Course.objects.get()
    assignment = osmosis_assignment(course)
    hint = {"resource_link_id": "rl-grading-browser", "custom": {"eduai_assignment": str(assignment.pk)}}

    # The student answers in the LMS: typed text first, then a Word file as the second attempt.
    launch_top_level(page, lti_platform, "u-student", **hint)
    expect(page.get_by_role("heading", name="Osmosis", exact=True)).to_be_visible()
    _student_submits_typed_then_a_file(page, tmp_path)
    first, second = Submission.objects.filter(assignment=assignment).order_by("attempt")
    assert (first.text, first.superseded) == (TYPED_ANSWER, True)
    assert second.filename == "osmosis.docx"
    assert second.file.read() == (tmp_path / "osmosis.docx").read_bytes(), "the file is kept as sent"
    for _, paragraph in FILE_PARAGRAPHS[1:]:
        assert paragraph in second.text
    student = second.student

    # Classmates submit through the same service (the API and the page both use it).
    for (first_name, last_name), answer in CLASSMATES.items():
        classmate = UserFactory.create(
            username=first_name.lower(), first_name=first_name, last_name=last_name
        )
        EnrollmentFactory.create(course=course, user=classmate, role=Enrollment.Role.LEARNER)
        submission_create(assignment=assignment, student=classmate, text=answer)

    # The real worker grades every answer (the inference queue) and writes the feedback.
    wait_for(
        lambda: AiGrade.objects.filter(submission__assignment=assignment).count() == 5,
        timeout=900,
        what="the AI grades of all five answers",
    )
    grades = {
        grade.submission.student.get_full_name(): grade
        for grade in AiGrade.objects.filter(
            submission__assignment=assignment, submission__superseded=False
        ).select_related("submission__student")
    }
    assert set(grades) == {"Stu Dent", "Grace Hopper", "Alan Turing", "Ada Lovelace"}
    # Highest review priority first (least confident, and scores mid-range); ties: oldest first.
    expected_order = sorted(
        grades,
        key=lambda name: (
            -review_priority(grade=grades[name], assignment=assignment),
            grades[name].submission.submitted_at,
        ),
    )

    # The instructor opens the assignment from the LMS: the queue, most in need of review first.
    launch_top_level(teacher, lti_platform, "u-teacher", **hint)
    expect(teacher.get_by_role("heading", name="Instructor view: Osmosis")).to_be_visible()
    rows = teacher.locator("#review-queue tbody tr")
    expect(rows).to_have_count(4)
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(4)] == expected_order
    least = grades[expected_order[0]]
    assert rows.first.locator("td").nth(4).inner_text() == f"{least.confidence:.0%}"
    expect(teacher.get_by_role("img", name="Scores of current submissions")).to_be_visible()
    assert axe_violations(teacher.main_frame) == []
    for width in FIT_WIDTHS:
        teacher.set_viewport_size({"width": width, "height": 800})
        assert not has_horizontal_scroll(teacher.main_frame), f"horizontal scroll at {width} px"
    for name, width in WIDTHS.items():
        teacher.set_viewport_size({"width": width, "height": 800})
        screenshot(teacher, f"grading-review-{name}", full_page=True)
    teacher.set_viewport_size({"width": WIDTHS["wide"], "height": 900})

    # Override the student's grade with a comment and an edit of one criterion's next step; the
    # AI's feedback on the other criteria stays.
    ai = grades["Stu Dent"]
    overridden = Decimal(9) if ai.score != Decimal(9) else Decimal(7)
    teacher.get_by_role("link", name=re.compile(r"^Stu Dent: AI grade ")).click()
    expect(teacher.get_by_role("heading", name="Stu Dent, attempt 2")).to_be_visible()
    expect(teacher.get_by_role("table", name="Rubric criteria")).to_contain_text("Water movement")
    assert axe_violations(teacher.main_frame) == []
    score = teacher.get_by_label("Score (0 to 10)")
    score.fill("11")
    teacher.get_by_role("button", name="Save the override and release").click()
    expect(teacher.get_by_role("alert")).to_contain_text("outside this assignment's range")
    assert not ConfirmedGrade.objects.exists(), "a refused override changes nothing"
    teacher.get_by_label("Score (0 to 10)").fill(str(overridden))
    teacher.get_by_label("Comment to the student").fill(COMMENT)
    ai_water = next(item for item in ai.feedback if item["criterion"] == "Water movement")
    water_step = teacher.get_by_role("group", name="Water movement").get_by_label("Next step")
    expect(water_step).to_have_value(ai_water["next_step"])  # the AI's line, ready to edit
    water_step.fill(EDITED_NEXT_STEP)
    # Points per criterion that add up to the new score, so the student sees them.
    points = {"Water movement": 4, "Concentration": 3, "Membrane": int(overridden) - 7}
    for criterion, value in points.items():
        teacher.get_by_role("group", name=criterion).get_by_label(re.compile(r"^Points")).fill(str(value))
    teacher.get_by_role("button", name="Save the override and release").click()
    expect(teacher.locator("#toasts")).to_contain_text(f"Stu Dent: {overridden} (Overridden)")
    confirmed = ConfirmedGrade.objects.get(submission__student=student)
    assert (confirmed.decision, confirmed.score, confirmed.ai_score) == ("overridden", overridden, ai.score)
    assert confirmed.feedback[0]["comment"] == COMMENT
    water = next(item for item in confirmed.feedback if item["criterion"] == "Water movement")
    assert (water["next_step"], water["source"]) == (EDITED_NEXT_STEP, "edited")
    assert (water["strengths"], water["missing"]) == (ai_water["strengths"], ai_water["missing"])
    assert [item["score"] for item in confirmed.feedback[1:]] == list(points.values())

    # Approve another one as it is.
    teacher.get_by_role("link", name=re.compile(r"^Grace Hopper: AI grade ")).click()
    teacher.get_by_role("button", name="Approve and release").click()
    expect(teacher.locator("#toasts")).to_contain_text("Grace Hopper: ")
    expect(teacher.locator("#toasts")).to_contain_text("(Approved)")
    approved = ConfirmedGrade.objects.get(submission__student__username="grace")
    assert (approved.decision, approved.score) == ("approved", grades["Grace Hopper"].score)
    expect(rows).to_have_count(2)

    # Bulk-approve the rest.
    teacher.get_by_label("Select all rows").check()
    expect(teacher.locator("#review-queue .selected-count")).to_have_text("2 selected")
    teacher.get_by_label("Action").select_option("approve")
    teacher.get_by_role("button", name="Apply to selected").click()
    expect(teacher.locator("#toasts")).to_contain_text("2 grades approved and released.")
    expect(teacher.get_by_text("Nothing to review", exact=True)).to_be_visible()
    assert ConfirmedGrade.objects.filter(submission__assignment=assignment).count() == 4

    # The student sees the released grade, the comment and the feedback per criterion.
    page.reload()
    released = page.locator("article.submission").first
    expect(released.locator(".grade")).to_have_text(f"Grade: {overridden} out of 10")
    expect(released).to_contain_text(COMMENT)
    for criterion in ("Water movement", "Concentration", "Membrane"):
        expect(released.get_by_role("heading", name=criterion)).to_be_visible()
    # The instructor's edit of the next step, not the AI's line; the rest as the AI wrote it.
    expect(released).to_contain_text(EDITED_NEXT_STEP)
    expect(released).not_to_contain_text(ai_water["next_step"])
    expect(released).to_contain_text(ai_water["strengths"])
    # With the points per criterion the instructor gave.
    expect(released.locator(".criterion-points")).to_have_text(
        [f"{value} of {4 if name == 'Water movement' else 3} points" for name, value in points.items()]
    )
    assert axe_violations(page.main_frame) == []
    for width in FIT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert not has_horizontal_scroll(page.main_frame), f"horizontal scroll at {width} px"
    page.set_viewport_size({"width": WIDTHS["narrow"], "height": 800})
    screenshot(page, "grading-student-released-narrow", full_page=True)

    # The student's overridden score reaches the LMS through AGS.
    wait_for(
        lambda: ScorePassback.objects.filter(student=student, status=ScorePassback.Status.SENT).exists(),
        timeout=120,
        what="the student's score passback",
    )
    posted = [post for post in lti_platform.store["score_posts"] if post["userId"] == "u-student"]
    assert [post["scoreGiven"] for post in posted] == [float(overridden)]
