from django.conf import settings
from django.db import models


class Course(models.Model):
    """A course: usually one LTI context in Moodle or Canvas. Every app's data hangs off it."""

    title = models.CharField(max_length=255)
    label = models.CharField(max_length=64, blank=True, help_text="Short course code, e.g. BIO101.")
    lti_context = models.OneToOneField(
        "lti_tool.LtiContext",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="course",
        help_text="The LMS course this mirrors; empty for courses created here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.label} {self.title}".strip()


class Enrollment(models.Model):
    """A user's role in a course, kept current from LTI launches and roster syncs."""

    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        INSTRUCTOR = "instructor", "Instructor"
        TEACHING_ASSISTANT = "teaching_assistant", "Teaching assistant"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.LEARNER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="enrollment_one_per_course_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} as {self.get_role_display()}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> "ApiTokenQuerySet":
        from django.utils import timezone

        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """An API key for scripts and BI tools, limited to one course and one role.

    Only a hash of the key is stored; the key is shown once, when it is made. A request with it
    acts as `user`, but only in `course`, and never with more than `role` there (a learner
    token of an instructor sees what a learner sees; site staff rights do not apply).
    """

    class Role(models.TextChoices):
        LEARNER = "learner", "Learner"
        INSTRUCTOR = "instructor", "Instructor"

    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'Power BI export'.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="api_tokens")
    role = models.CharField(max_length=16, choices=Role.choices)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}..., {self.role} in {self.course})"
