"""Learning analytics data: the event log, the course's knowledge points and per-student mastery."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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


class CourseCalendar(models.Model):
    """When a course's weeks start, and how far its weekly metrics are computed.

    Course week 1 is the seven days from ``starts_on`` (midnight, in the site's time zone), week 2
    the next seven, and so on. A course without a calendar counts its weeks from the day the
    course was created in eduai.
    """

    course = models.OneToOneField(
        "courses.Course", on_delete=models.CASCADE, related_name="analytics_calendar"
    )
    starts_on = models.DateField(help_text="First day of course week 1.")
    metrics_watermark = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Events recorded after this moment are not in the weekly metrics yet (empty: all weeks).",
    )
    metrics_computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.course} from {self.starts_on}"


class PlannedItem(models.Model):
    """An assignment due, or a material to study, in a given course week (the week's plan)."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="planned_items")
    week = models.PositiveSmallIntegerField(help_text="Course week, from 1.")
    assignment = models.ForeignKey("grading.Assignment", null=True, blank=True, on_delete=models.CASCADE)
    material = models.ForeignKey("tutoring.Material", null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        ordering = ["course", "week", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assignment__isnull=False, material__isnull=True)
                | models.Q(assignment__isnull=True, material__isnull=False),
                name="planned_item_one_assignment_or_material",
            ),
            models.CheckConstraint(condition=models.Q(week__gte=1), name="planned_item_week_from_one"),
            models.UniqueConstraint(fields=["course", "assignment"], name="planned_item_assignment_once"),
            models.UniqueConstraint(fields=["course", "material"], name="planned_item_material_once"),
        ]

    def __str__(self) -> str:
        return f"week {self.week}: {self.assignment or self.material}"


class CourseWeekMetrics(models.Model):
    """One course week's progress, feedback, participation and tutor usage (see analytics/weekly.py)."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="week_metrics")
    week = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    enrolled_students = models.PositiveIntegerField(default=0)
    active_students = models.PositiveIntegerField(default=0, help_text="N_i")
    planned_items = models.PositiveIntegerField(default=0)
    learning_progress = models.FloatField(null=True, blank=True, help_text="L_i in [0, 1]")
    feedback = models.FloatField(null=True, blank=True, help_text="M_i in [0, 1]")
    feedback_students = models.PositiveIntegerField(default=0)
    answer_rating = models.FloatField(null=True, blank=True)
    grade = models.FloatField(null=True, blank=True)
    participation = models.FloatField(null=True, blank=True, help_text="N_i / enrolled students")
    tutor_questions = models.PositiveIntegerField(default=0)
    tutor_users = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    complete = models.BooleanField(default=False, help_text="The week has ended.")
    flagged = models.BooleanField(default=False)
    flag_reasons = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "week"]
        verbose_name_plural = "course week metrics"
        constraints = [
            models.UniqueConstraint(fields=["course", "week"], name="week_metrics_one_per_course_week")
        ]

    def __str__(self) -> str:
        return f"{self.course} week {self.week}"


class KnowledgePointMetrics(models.Model):
    """How the course's students do on one knowledge point, and whether it falls behind."""

    knowledge_point = models.OneToOneField(KnowledgePoint, on_delete=models.CASCADE, related_name="metrics")
    responses = models.PositiveIntegerField(default=0)
    students = models.PositiveIntegerField(default=0)
    mean_score = models.FloatField(null=True, blank=True)
    mean_mastery = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    flag_reasons = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "knowledge point metrics"

    def __str__(self) -> str:
        return f"{self.knowledge_point}: {self.mean_score}"


class AtRiskScore(models.Model):
    """A student's risk of falling behind in a course, at the last scoring, with its reasons."""

    class Method(models.TextChoices):
        TRAINED = "trained", "Trained on this course"
        PRIOR = "prior", "Prior weights (too little history to train)"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="at_risk_scores")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="at_risk_scores"
    )
    risk = models.FloatField()
    flagged = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True, help_text="[{feature, value, text, weight}]")
    features = models.JSONField(default=dict, blank=True)
    method = models.CharField(max_length=16, choices=Method.choices)
    scored_at = models.DateTimeField()

    class Meta:
        ordering = ["course", "-risk"]
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="at_risk_one_per_course_user"),
            models.CheckConstraint(
                condition=models.Q(risk__gte=0, risk__lte=1), name="at_risk_in_unit_interval"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course}: {self.risk:.2f}"


class NextStep(models.Model):
    """A student's recommended next step in a course: the point to work on, what to read, and a
    generated practice question with its worked solution (cached until the point changes)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        GENERATED = "generated", "Generated and checked against the material"
        FALLBACK = "fallback", "Built from the material (the generated question was unusable)"
        NONE = "none", "Nothing to practise"

    class Difficulty(models.TextChoices):
        EASY = "easy", _("Easy")
        MEDIUM = "medium", _("Medium")
        HARD = "hard", _("Hard")

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="next_steps")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="next_steps")
    knowledge_point = models.ForeignKey(KnowledgePoint, null=True, blank=True, on_delete=models.SET_NULL)
    material = models.ForeignKey("tutoring.Material", null=True, blank=True, on_delete=models.SET_NULL)
    mastery = models.FloatField(null=True, blank=True)
    difficulty = models.CharField(max_length=8, choices=Difficulty.choices, blank=True)
    question = models.TextField(blank=True)
    solution = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rejection = models.TextField(blank=True, help_text="Why the generated question was not used.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="next_step_one_per_course_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course}: {self.knowledge_point}"
