"""The next step: which point, which difficulty, and the checks on generated practice questions."""

import pytest
from django.test import Client

from analytics import next_step_services
from analytics.models import LearningEvent, Mastery, NextStep
from analytics.next_step import (
    PointState,
    cloze_from_material,
    difficulty_for,
    excerpt,
    next_point,
    question_from_output,
    solution_from_output,
    text_problems,
)
from analytics.services import knowledge_point_create, knowledge_point_tag
from eduai.courses.models import Enrollment
from eduai.ml import runtime
from eduai.ml.generator import GenerationResult
from tests.factories import CourseFactory, EnrollmentFactory, MaterialFactory

OSMOSIS = (
    "Osmosis is the movement of water molecules across a semi-permeable membrane. Water moves from a "
    "region of low solute concentration to a region of high solute concentration. Cells placed in a "
    "hypotonic solution swell as water enters by osmosis."
)


def test_the_weakest_point_with_mastered_prerequisites_comes_next():
    basics = PointState(1, "Basics", 0.9, ())
    cells = PointState(2, "Cells", 0.5, (1,))
    osmosis = PointState(3, "Osmosis", 0.1, (2,))  # weakest, but Cells is not mastered yet
    assert next_point([basics, cells, osmosis]) == cells
    assert next_point([PointState(1, "Basics", 0.95, ())]) is None
    assert [difficulty_for(value) for value in (0.1, 0.5, 0.75)] == ["easy", "medium", "hard"]


def test_generated_text_is_checked_against_the_material():
    question = question_from_output("Question: What happens to a cell in a hypotonic solution? Also...")
    assert question == "What happens to a cell in a hypotonic solution?"
    solution = solution_from_output("**Solution:** Water enters the cell by osmosis, so the cell swells.")
    assert solution.startswith("Water enters")
    assert text_problems(question, solution, OSMOSIS) == []
    off_topic = text_problems(
        "What is the capital of France?", "Paris is the capital city of France.", OSMOSIS
    )
    assert off_topic == ["it shares 0 of the material's key terms (needs 2)"]
    assert "the worked solution is missing or too short" in text_problems(question, "", OSMOSIS)
    assert "the output repeats the prompt" in text_problems("Format: Question: ...?", solution, OSMOSIS)


def test_the_fallback_is_a_cloze_question_from_the_material():
    practice = cloze_from_material(OSMOSIS, "Transport", "Osmosis")
    assert practice is not None
    assert "_____" in practice.question
    assert practice.solution.startswith('The missing word is "')
    assert cloze_from_material("Too short.", "x", "y") is None
    assert excerpt(OSMOSIS, "hypotonic", limit=80).startswith("Cells placed")


@pytest.fixture
def pending_step(db, django_capture_on_commit_callbacks):
    course = CourseFactory.create()
    student = EnrollmentFactory.create(course=course).user
    point = knowledge_point_create(course=course, name="Osmosis")
    knowledge_point_tag(
        knowledge_point=point, materials=[MaterialFactory.create(course=course, text=OSMOSIS)]
    )
    Mastery.objects.create(user=student, knowledge_point=point, probability=0.2)
    with django_capture_on_commit_callbacks(execute=False):
        step = next_step_services.next_step_refresh(course=course, user=student)
    return step


def test_an_unusable_generation_falls_back_to_the_material(pending_step, monkeypatch):
    monkeypatch.setattr(
        runtime,
        "generate",
        lambda request, **_: GenerationResult(
            text="I cannot help with that.", prompt_tokens=1, completion_tokens=1
        ),
    )
    step = next_step_services.next_step_generate(next_step_id=pending_step.pk)
    assert step is not None
    assert step.status == NextStep.Status.FALLBACK
    assert "_____" in step.question
    assert "question is missing" in step.rejection or "key terms" in step.rejection
    assert step.difficulty == "easy"


def test_a_failing_model_also_falls_back(pending_step, monkeypatch):
    def broken(request, **_):
        raise TimeoutError("no answer in time")

    monkeypatch.setattr(runtime, "generate", broken)
    step = next_step_services.next_step_generate(next_step_id=pending_step.pk)
    assert step is not None
    assert step.status == NextStep.Status.FALLBACK
    assert step.rejection == "generation failed: no answer in time"


def test_an_unchanged_step_keeps_its_question(pending_step, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(runtime, "generate", lambda request, **_: GenerationResult("", 1, 1))
    step = next_step_services.next_step_generate(next_step_id=pending_step.pk)
    assert step is not None
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = next_step_services.next_step_refresh(course=step.course, user=step.user)
    assert (again.question, again.status, callbacks) == (step.question, NextStep.Status.FALLBACK, [])
    Mastery.objects.filter(user=step.user).update(probability=0.6)  # now a medium question
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changed = next_step_services.next_step_refresh(course=step.course, user=step.user)
    assert (changed.status, changed.difficulty, len(callbacks)) == (NextStep.Status.PENDING, "medium", 1)


def test_a_practice_attempt_is_an_event_that_moves_mastery(
    pending_step, monkeypatch, django_capture_on_commit_callbacks
):
    student, course, point = pending_step.user, pending_step.course, pending_step.knowledge_point
    client = Client()
    client.force_login(student)
    url = f"/analytics/courses/{course.pk}/next-step/practice/"
    # No question yet: nothing to answer, nothing recorded.
    refused = client.post(url, {"knowledge_point": str(point.pk), "correct": "1"})
    assert refused.status_code == 400
    assert "no practice question" in refused.content.decode()
    monkeypatch.setattr(runtime, "generate", lambda request, **_: GenerationResult("", 1, 1))
    next_step_services.next_step_generate(next_step_id=pending_step.pk)  # the cloze fallback
    page = client.get(f"/analytics/courses/{course.pk}/next-step/").content.decode()
    assert 'class="practice-attempt"' in page
    assert client.post(url, {"knowledge_point": str(point.pk), "correct": "yes"}).status_code == 400
    stale = client.post(url, {"knowledge_point": str(point.pk + 1), "correct": "1"})
    assert stale.status_code == 400
    assert "changed" in stale.content.decode()
    assert not LearningEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        answered = client.post(
            url, {"knowledge_point": str(point.pk), "correct": "1"}, HTTP_HX_REQUEST="true"
        )
    assert answered.status_code == 200
    assert 'id="next-step"' in answered.content.decode()
    assert "HX-Trigger" in answered
    event = LearningEvent.objects.get()
    assert (event.verb, event.result_score, list(event.knowledge_points.all())) == ("practiced", 1.0, [point])
    mastery = Mastery.objects.get(user=student, knowledge_point=point)
    assert (mastery.attempts, mastery.probability > 0.2) == (1, True)
    # Without htmx, the form post comes back to the next-step page (once the step, chosen again
    # after the attempt, has a question: a new difficulty waits for its new question).
    has_question = bool(NextStep.objects.get(pk=pending_step.pk).question)
    with django_capture_on_commit_callbacks(execute=False):
        wrong = client.post(url, {"knowledge_point": str(point.pk), "correct": "0"})
    assert wrong.status_code == (302 if has_question else 400)
    # An instructor has no practice to record.
    instructor = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    client.force_login(instructor)
    assert client.post(url, {"knowledge_point": str(point.pk), "correct": "1"}).status_code == 404
