from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from analytics.models import LearningEvent, Mastery
from analytics.services import (
    event_record,
    knowledge_point_create,
    knowledge_point_parameters_fit,
    knowledge_point_tag,
    mastery_update,
)
from eduai.privacy.pseudonyms import pseudonym
from grading.models import Assignment
from tests.analytics.test_knowledge_tracing import TRUE_PARAMETERS, _simulate
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    KnowledgePointFactory,
    MaterialFactory,
    UserFactory,
)
from tutoring.models import Material

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_pseudonym_is_stable_distinct_and_never_contains_the_name_or_email():
    # Names with letters outside hex digits, so a chance match with the hash is impossible.
    ada = UserFactory.create(username="ada_lovelace", email="lovelace@school.edu")
    bob = UserFactory.create(username="bob", email="bob@school.edu")
    alias = pseudonym(user_id=ada.pk, course_id=1)
    assert alias == pseudonym(user_id=ada.pk, course_id=1)
    assert alias != pseudonym(user_id=bob.pk, course_id=1)
    assert alias != pseudonym(user_id=ada.pk, course_id=2)
    assert alias.startswith("student_")
    for personal in ("lovelace", "school.edu"):
        assert personal not in alias


def test_pseudonym_depends_on_the_secret(settings):
    before = pseudonym(user_id=7, course_id=1)
    settings.SECRET_KEY = "another-secret"
    assert pseudonym(user_id=7, course_id=1) != before


def test_event_record_stores_the_pseudonym_and_the_event():
    user = UserFactory.create(username="grace", email="grace@school.edu")
    course = CourseFactory.create()
    event = event_record(
        user=user, course=course, verb="viewed", object_type="material", object_id="12", timestamp=WHEN
    )
    stored = LearningEvent.objects.get(pk=event.pk)
    assert stored.actor_pseudonym == pseudonym(user_id=user.pk, course_id=course.pk)
    assert "grace" not in stored.actor_pseudonym
    assert (stored.verb, stored.object_id, stored.timestamp) == ("viewed", "12", WHEN)


@pytest.mark.parametrize(("verb", "score"), [("shouted", None), ("graded", 1.5), ("graded", -0.1)])
def test_event_record_refuses_bad_values(verb, score):
    with pytest.raises(ValidationError):
        event_record(
            user=UserFactory.create(),
            course=CourseFactory.create(),
            verb=verb,
            object_type="assignment",
            object_id="1",
            result_score=score,
            timestamp=WHEN,
        )
    assert not LearningEvent.objects.exists()


def test_event_record_refuses_knowledge_points_of_another_course():
    point = KnowledgePointFactory.create()
    with pytest.raises(ValidationError, match="course"):
        event_record(
            user=UserFactory.create(),
            course=CourseFactory.create(),
            verb="graded",
            object_type="assignment",
            object_id="1",
            result_score=1.0,
            timestamp=WHEN,
            knowledge_points=[point],
        )


def _graded(user, point, score):
    return event_record(
        user=user,
        course=point.course,
        verb="graded",
        object_type="assignment",
        object_id="1",
        result_score=score,
        timestamp=WHEN,
        knowledge_points=[point],
    )


def test_scored_events_move_mastery_up_on_success_and_down_on_failure():
    point = KnowledgePointFactory.create()
    strong, weak = UserFactory.create(), UserFactory.create()
    for _ in range(3):
        _graded(strong, point, 1.0)
        _graded(weak, point, 0.0)
    strong_mastery = Mastery.objects.get(user=strong, knowledge_point=point)
    weak_mastery = Mastery.objects.get(user=weak, knowledge_point=point)
    assert strong_mastery.attempts == weak_mastery.attempts == 3
    assert strong_mastery.probability > 0.9 > point.p_init > weak_mastery.probability


def test_an_unscored_event_leaves_mastery_alone():
    point = KnowledgePointFactory.create()
    event_record(
        user=UserFactory.create(),
        course=point.course,
        verb="viewed",
        object_type="material",
        object_id="3",
        timestamp=WHEN,
        knowledge_points=[point],
    )
    assert not Mastery.objects.exists()


def test_a_partial_score_moves_mastery_less_than_a_full_one():
    point = KnowledgePointFactory.create()
    half = mastery_update(user_id=UserFactory.create().pk, knowledge_point=point, score=0.5)
    full = mastery_update(user_id=UserFactory.create().pk, knowledge_point=point, score=1.0)
    assert half.probability < full.probability


def test_knowledge_points_have_prerequisites_in_their_course():
    course = CourseFactory.create()
    fractions = knowledge_point_create(course=course, name="Fractions")
    ratios = knowledge_point_create(course=course, name="Ratios", prerequisites=[fractions])
    assert list(ratios.prerequisites.all()) == [fractions]
    assert list(fractions.dependents.all()) == [ratios]
    with pytest.raises(ValidationError):
        knowledge_point_create(course=course, name="Fractions")
    with pytest.raises(ValidationError, match="same course"):
        knowledge_point_create(course=CourseFactory.create(), name="Percentages", prerequisites=[fractions])


def test_tagging_assignments_and_materials_of_the_same_course_only():
    point = KnowledgePointFactory.create()
    assignment = AssignmentFactory.create(course=point.course)
    material = MaterialFactory.create(course=point.course)
    knowledge_point_tag(knowledge_point=point, assignments=[assignment], materials=[material])
    assert list(Assignment.objects.filter(knowledge_points=point)) == [assignment]
    assert list(Material.objects.filter(knowledge_points=point)) == [material]
    with pytest.raises(ValidationError):
        knowledge_point_tag(knowledge_point=point, materials=[MaterialFactory.create()])


def test_fitting_a_course_learns_its_points_and_replays_mastery():
    course = CourseFactory.create()
    learned_fast, often_known = (
        KnowledgePointFactory.create(course=course),
        KnowledgePointFactory.create(course=course),
    )
    untouched = KnowledgePointFactory.create(course=course)
    sequences, skills = _simulate(TRUE_PARAMETERS, students=40, seed=7)
    students = [UserFactory.create() for _ in range(40)]
    for index, (responses, skill) in enumerate(zip(sequences, skills, strict=True)):
        for score in responses:
            _graded(students[index % 40], often_known if skill else learned_fast, float(score))
    assert knowledge_point_parameters_fit(course=course) == 2
    learned_fast.refresh_from_db()
    often_known.refresh_from_db()
    untouched.refresh_from_db()
    assert learned_fast.p_learn > often_known.p_learn
    assert often_known.p_init > learned_fast.p_init
    assert (untouched.p_init, untouched.p_learn) == (
        KnowledgePointFactory.build().p_init,
        KnowledgePointFactory.build().p_learn,
    )
    mastery = Mastery.objects.get(user=students[0], knowledge_point=learned_fast)
    assert mastery.attempts == len(sequences[0])
    assert Mastery.objects.filter(knowledge_point__course=course).count() == 80


def test_fitting_a_course_without_scored_events_changes_nothing():
    point = KnowledgePointFactory.create()
    assert knowledge_point_parameters_fit(course=point.course) == 0
