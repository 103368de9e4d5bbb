"""The course tutor: its knowledge base (materials, chunks, FAQ), settings, and conversations."""

from django.conf import settings
from django.db import models

SOCRATIC = "socratic"


class Material(models.Model):
    """A piece of course material the tutor answers from.

    Ingestion (``tasks.material_ingest``) splits its text into ``Chunk`` rows with embeddings;
    it runs again whenever the text's hash changes.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "Plain text"
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"
        DOCX = "docx", "Word document"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True, help_text="Extracted text of the material.")
    file = models.FileField(upload_to="materials/%Y/%m/", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Ingestion progress, percent.")
    error = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the text.")
    indexed_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the text now indexed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="material_progress_0_100")
        ]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    """One passage of a material: what retrieval finds and an answer cites."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    material = models.ForeignKey(Material, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    heading = models.CharField(max_length=255, blank=True)
    text = models.TextField()
    start = models.PositiveIntegerField(help_text="Character offset in the material's text.")
    end = models.PositiveIntegerField()
    embedding = models.BinaryField(help_text="float32 vector, little-endian.")

    class Meta:
        ordering = ["material", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["material", "ordinal"], name="chunk_one_per_ordinal"),
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="chunk_span_valid"),
        ]
        indexes = [models.Index(fields=["course", "id"], name="chunk_course_id")]

    def __str__(self) -> str:
        return f"{self.material} #{self.ordinal}"


class TutorSettings(models.Model):
    """The tutor's behaviour in a course, or in one of its resource links (which overrides)."""

    class Mode(models.TextChoices):
        SOCRATIC = SOCRATIC, "Socratic: guides with questions and hints"
        DIRECT = "direct", "Direct: answers questions directly"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="tutor_settings")
    resource_link = models.ForeignKey(
        "lti_tool.LtiResourceLink", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SOCRATIC)
    instructions = models.TextField(
        blank=True, max_length=4000, help_text="Added to the tutor's system prompt for this course."
    )
    daily_quota = models.PositiveIntegerField(default=50, help_text="Questions per student per day.")
    burst_limit = models.PositiveIntegerField(default=5, help_text="Questions per student per minute.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "tutor settings"
        constraints = [
            models.UniqueConstraint(
                fields=["course"],
                condition=models.Q(resource_link__isnull=True),
                name="tutor_settings_course",
            ),
            models.UniqueConstraint(
                fields=["course", "resource_link"],
                condition=models.Q(resource_link__isnull=False),
                name="tutor_settings_course_link",
            ),
        ]

    def __str__(self) -> str:
        return f"Tutor settings of {self.course}" + (
            f" ({self.resource_link})" if self.resource_link_id else ""
        )


class AiNoticeAcceptance(models.Model):
    """A user's consent to AI use: they accepted the AI-use notice, once (asked again only when
    the notice changes: ``notice_version``), in the course where it was first shown."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notice_version = models.PositiveSmallIntegerField(default=1)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "notice_version"], name="ai_notice_once_per_user")
        ]

    def __str__(self) -> str:
        return f"AI-use notice {self.notice_version} accepted by {self.user} in {self.course}"


class StudentNumber(models.Model):
    """The "Student 7" an instructor sees: a per-course number for a pseudonym, never the name."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+")
    pseudonym = models.CharField(max_length=64)
    number = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "pseudonym"], name="student_number_one_per_pseudonym"),
            models.UniqueConstraint(fields=["course", "number"], name="student_number_unique"),
        ]

    def __str__(self) -> str:
        return f"Student {self.number}"


class Conversation(models.Model):
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="conversations")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tutor_conversations"
    )
    resource_link = models.ForeignKey(
        "lti_tool.LtiResourceLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged = models.BooleanField(default=False, help_text="Moderation or a student flagged a message.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["course", "student"], name="conversation_course_student")]

    def __str__(self) -> str:
        return f"Conversation {self.pk} in {self.course}"


class Message(models.Model):
    """A student's question or the tutor's answer. Questions are stored before anything else."""

    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TUTOR = "tutor", "Tutor"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        MODEL = "model", "Model answer"
        FAQ = "faq", "Endorsed answer (FAQ)"
        NOT_FOUND = "not_found", "Nothing relevant in the material"
        HINT = "hint", "Hint instead of a graded answer"
        MODERATION = "moderation", "Moderation message"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True)
    redacted_text = models.TextField(blank=True, help_text="A question with personal data removed.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    refusal_reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    reply_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="answer"
    )
    stream_id = models.UUIDField(null=True, blank=True, unique=True)
    citations = models.JSONField(
        default=list, blank=True, help_text='[{"chunk": id, "material": id, "title": ..., "ordinal": n}]'
    )
    faq = models.ForeignKey("FaqEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    moderation = models.CharField(max_length=32, blank=True, help_text="Category moderation flagged.")
    injection = models.BooleanField(default=False, help_text="The question tried to override instructions.")
    leak_score = models.FloatField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True, help_text="Student's score r in [0, 1].")
    student_flag = models.CharField(max_length=500, blank=True, help_text="Why the student flagged it.")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | (models.Q(rating__gte=0) & models.Q(rating__lte=1)),
                name="message_rating_0_1",
            )
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_conversation_time")]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"


class FaqEntry(models.Model):
    """An answer an instructor endorsed or corrected; a close enough new question gets it."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="faq_entries")
    question = models.TextField(help_text="The question, with personal data removed.")
    answer = models.TextField()
    embedding = models.BinaryField(blank=True, help_text="float32 vector of the question (as a query).")
    passage_embedding = models.BinaryField(
        blank=True, help_text="float32 vector of question and answer (as a passage, for the index)."
    )
    source_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="faq_entries"
    )
    corrected = models.BooleanField(default=False, help_text="The instructor rewrote the answer.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Last edit (part of the index version).")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question[:80]
