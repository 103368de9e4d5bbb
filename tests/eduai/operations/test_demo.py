import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from lti_tool.models import LtiDeployment, LtiRegistration

from eduai.courses.models import Course
from eduai.operations.demo import demo_seed
from grading.models import Submission
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
