"""factory_boy factories for the project's models: one per model, used by every test."""

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from analytics.models import KnowledgePoint, LearningEvent
from eduai.courses.models import Course, Enrollment
from eduai.lti.models import ScorePassback
from eduai.privacy.pseudonyms import pseudonym
from grading.models import AiGrade, Assignment, ConfirmedGrade, Submission
from tutoring.models import Conversation, FaqEntry, Material, Message, TutorSettings


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")


class CourseFactory(factory.django.DjangoModelFactory[Course]):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    label = factory.Sequence(lambda n: f"C{n:03d}")


class EnrollmentFactory(factory.django.DjangoModelFactory[Enrollment]):
    class Meta:
        model = Enrollment

    course = factory.SubFactory(CourseFactory)
    user = factory.SubFactory(UserFactory)
    role = Enrollment.Role.LEARNER


class MaterialFactory(factory.django.DjangoModelFactory[Material]):
    class Meta:
        model = Material

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Chapter {n}")
    text = "Cells are the basic unit of life."


class AssignmentFactory(factory.django.DjangoModelFactory[Assignment]):
    class Meta:
        model = Assignment

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Assignment {n}")
    prompt = "What is a cell?"
    reference_answers = ["The basic structural unit of living things."]


class SubmissionFactory(factory.django.DjangoModelFactory[Submission]):
    class Meta:
        model = Submission

    assignment = factory.SubFactory(AssignmentFactory)
    student = factory.SubFactory(UserFactory)
    text = "A cell is the smallest unit of life."


class AiGradeFactory(factory.django.DjangoModelFactory[AiGrade]):
    class Meta:
        model = AiGrade

    submission = factory.SubFactory(SubmissionFactory, status=Submission.Status.SCORED)
    score = 6
    confidence = 0.5
    criteria = factory.LazyFunction(list)
    feedback = factory.LazyFunction(
        lambda: [
            {"criterion": "Overall", "strengths": "Clear.", "missing": "Detail.", "next_step": "Add detail."}
        ]
    )
    model_name = "cold-start"


class ConfirmedGradeFactory(factory.django.DjangoModelFactory[ConfirmedGrade]):
    class Meta:
        model = ConfirmedGrade

    submission = factory.SubFactory(SubmissionFactory, status=Submission.Status.SCORED)
    score = 7
    decision = ConfirmedGrade.Decision.APPROVED


class ScorePassbackFactory(factory.django.DjangoModelFactory[ScorePassback]):
    class Meta:
        model = ScorePassback

    assignment = factory.SubFactory(AssignmentFactory)
    student = factory.SubFactory(UserFactory)
    score_given = 7
    score_maximum = factory.SelfAttribute("assignment.max_score")


class KnowledgePointFactory(factory.django.DjangoModelFactory[KnowledgePoint]):
    class Meta:
        model = KnowledgePoint

    course = factory.SubFactory(CourseFactory)
    name = factory.Sequence(lambda n: f"Skill {n}")


class LearningEventFactory(factory.django.DjangoModelFactory[LearningEvent]):
    class Meta:
        model = LearningEvent

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    actor_pseudonym = factory.LazyAttribute(
        lambda event: pseudonym(user_id=event.user.pk, course_id=event.course.pk)
    )
    verb = LearningEvent.Verb.VIEWED
    object_type = "material"
    object_id = factory.Sequence(str)
    timestamp = factory.LazyFunction(timezone.now)


class TutorSettingsFactory(factory.django.DjangoModelFactory[TutorSettings]):
    class Meta:
        model = TutorSettings

    course = factory.SubFactory(CourseFactory)


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    course = factory.SubFactory(CourseFactory)
    student = factory.SubFactory(UserFactory)


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    role = Message.Role.STUDENT
    text = "What is a cell?"
    redacted_text = factory.SelfAttribute("text")


class FaqEntryFactory(factory.django.DjangoModelFactory[FaqEntry]):
    class Meta:
        model = FaqEntry

    course = factory.SubFactory(CourseFactory)
    question = "What is a cell?"
    answer = "The basic unit of life."
