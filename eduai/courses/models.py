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
