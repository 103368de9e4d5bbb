"""Learning analytics data: the event log, the course's knowledge points and per-student mastery."""

from django.conf import settings
from django.db import models

from .knowledge_tracing import COLD_START


class KnowledgePoint(models.Model):
    """A skill or topic of a course; assignments and materials are tagged with the ones they cover.

    The p_* fields are the Bayesian Knowledge Tracing parameters of this knowledge point: cold-start
    priors until they are fitted on the course's own responses.
    """

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="knowledge_points")
    name = models.CharField(max_length=255)
    prerequisites = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")
    assignments = models.ManyToManyField("grading.Assignment", blank=True, related_name="knowledge_points")
    materials = models.ManyToManyField("tutoring.Material", blank=True, related_name="knowledge_points")
    p_init = models.FloatField(default=COLD_START.p_init, help_text="P(known before the first attempt)")
    p_learn = models.FloatField(default=COLD_START.p_learn, help_text="P(unknown -> known) per attempt")
    p_forget = models.FloatField(default=COLD_START.p_forget, help_text="P(known -> unknown) per attempt")
    p_guess = models.FloatField(default=COLD_START.p_guess, help_text="P(correct | unknown), at most 0.3")
    p_slip = models.FloatField(default=COLD_START.p_slip, help_text="P(wrong | known), at most 0.3")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "name"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="knowledge_point_unique_name_per_course"),
            models.CheckConstraint(
                condition=models.Q(p_guess__gte=0, p_guess__lte=0.3, p_slip__gte=0, p_slip__lte=0.3),
                name="knowledge_point_guess_slip_bounded",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LearningEvent(models.Model):
    """One thing a student did in a course (xAPI-like). The actor is stored pseudonymously: the
    user id for joins inside eduai, and a keyed pseudonym for anything shown or exported."""

    class Verb(models.TextChoices):
        LAUNCHED = "launched", "Launched"
        ASKED = "asked", "Asked"
        RATED = "rated", "Rated"
        VIEWED = "viewed", "Viewed"
        SUBMITTED = "submitted", "Submitted"
        GRADED = "graded", "Graded"
        PRACTICED = "practiced", "Practiced"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learning_events"
    )
    actor_pseudonym = models.CharField(max_length=64, db_index=True)
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="learning_events")
    verb = models.CharField(max_length=16, choices=Verb.choices)
    object_type = models.CharField(max_length=64, help_text="e.g. assignment, material, question")
    object_id = models.CharField(max_length=255)
    result_score = models.FloatField(null=True, blank=True, help_text="Scaled score in [0, 1].")
    timestamp = models.DateTimeField()
    knowledge_points = models.ManyToManyField(KnowledgePoint, blank=True, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["course", "timestamp"], name="event_course_timestamp"),
            models.Index(fields=["user", "course", "timestamp"], name="event_user_course_timestamp"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(result_score__isnull=True)
                | models.Q(result_score__gte=0, result_score__lte=1),
                name="event_result_score_in_unit_interval",
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_pseudonym} {self.verb} {self.object_type}:{self.object_id}"


class Mastery(models.Model):
    """P(the student knows this knowledge point), by Bayesian Knowledge Tracing over their results."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="masteries")
    knowledge_point = models.ForeignKey(KnowledgePoint, on_delete=models.CASCADE, related_name="masteries")
    probability = models.FloatField()
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "masteries"
        constraints = [
            models.UniqueConstraint(fields=["user", "knowledge_point"], name="mastery_one_per_user_point"),
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=1),
                name="mastery_probability_in_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.knowledge_point}: {self.probability:.2f}"
