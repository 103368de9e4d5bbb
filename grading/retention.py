"""Retention of raw submissions: after `RETENTION_SUBMISSION_DAYS` the text and the uploaded
file of a graded (released) or superseded submission are deleted; its score and feedback stay
for the gradebook. A submission still waiting for its grade is never purged."""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q

from eduai.privacy.retention import RetentionRule

from .models import Submission


def submissions_raw_purge(cutoff: datetime) -> int:
    old = Submission.objects.filter(Q(released_at__lt=cutoff) | Q(superseded=True, submitted_at__lt=cutoff))
    old = old.exclude(text="", file="")
    purged = 0
    for submission in old.iterator():
        stored = submission.file.name if submission.file else ""
        Submission.objects.filter(pk=submission.pk).update(text="", file="")
        if stored:
            transaction.on_commit(partial(submission.file.storage.delete, stored))
        purged += 1
    return purged


RULE = RetentionRule("grading-submissions-raw", "RETENTION_SUBMISSION_DAYS", submissions_raw_purge)
