import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from lti_tool.models import LtiDeployment, LtiRegistration

from eduai.courses.models import Course
from eduai.operations.demo import DEMO_ANSWERS, demo_seed
from grading import services as grading_services
from grading.models import AiGrade, Assignment, Submission
from grading.selectors import review_queue
from tutoring.models import Material

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_a_usable_school():
    seed = demo_seed()
    assert seed.course.materials.filter(text__contains="chlorophyll").exists()
    assignment = seed.course.assignments.get()
    assert assignment.submissions.count() == 3
    assert assignment.reference_answers
    registration = LtiRegistration.objects.get()
    assert LtiDeployment.objects.filter(registration=registration).exists()
    admin = authenticate(username=seed.admin_username, password=seed.admin_password)
    assert admin is not None
    assert admin.is_superuser


def test_demo_seed_runs_again_without_duplicates_and_with_a_new_password():
    first = demo_seed()
    second = demo_seed()
    assert Course.objects.count() == 1
    assert Material.objects.count() == 1
    assert Submission.objects.count() == 3
    assert first.admin_password != second.admin_password
    assert authenticate(username="admin", password=first.admin_password) is None
    assert authenticate(username="admin", password=second.admin_password) is not None


def test_seed_demo_command_prints_the_password(capsys):
    call_command("seed_demo", admin_username="trial-admin")
    printed = capsys.readouterr().out
    password = printed.split("password:")[1].strip()
    assert authenticate(username="trial-admin", password=password) is not None


def test_the_demo_submissions_are_queued_for_scoring_when_the_seed_commits(
    django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[list[int]] = []
    monkeypatch.setattr(grading_services, "_enqueue_scoring", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        seed = demo_seed()
    submissions = Submission.objects.filter(assignment__course=seed.course)
    assert {submission.status for submission in submissions} == {Submission.Status.QUEUED}
    assert sorted(submission.text for submission in submissions) == sorted(DEMO_ANSWERS.values())
    # Sent to the scoring task on commit, by grading's own submit path.
    assert sorted(pk for batch in sent for pk in batch) == sorted(submission.pk for submission in submissions)


def test_an_older_seed_s_unqueued_submissions_are_submitted_again():
    """Seeds before this one stored the demo answers without queueing them: never scored."""
    seed = demo_seed()
    Submission.objects.update(status=Submission.Status.RECEIVED)
    demo_seed()
    assert Submission.objects.count() == 3
    assert set(Submission.objects.values_list("status", flat=True)) == {Submission.Status.QUEUED}
    assert seed.course.assignments.get().rubric[0]["description"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_scores_the_demo_submissions(celery_worker_process):
    seed = demo_seed()
    assignment = Assignment.objects.get(course=seed.course)
    deadline = time.monotonic() + 600
    while AiGrade.objects.filter(submission__assignment=assignment).count() < 3:
        assert time.monotonic() < deadline, "the worker did not score the demo submissions in 600 s"
        time.sleep(1)
    assert set(Submission.objects.values_list("status", flat=True)) == {Submission.Status.SCORED}
    queue = review_queue(assignment=assignment)
    students = get_user_model().objects.filter(username__startswith="demo-")
    assert {entry.submission.student for entry in queue} == set(students)
    assert all(entry.grade.feedback for entry in queue)
