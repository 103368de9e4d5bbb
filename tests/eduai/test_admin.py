"""The admin an IT admin uses: every registered model's list, search and add pages load."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import AssignmentFactory, MaterialFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    SubmissionFactory.create(assignment=AssignmentFactory.create())
    MaterialFactory.create()
    return client


def test_admin_index_has_the_site_title(admin_client_with_data):
    response = admin_client_with_data.get("/admin/")
    assert response.status_code == 200
    assert "eduai administration" in response.content.decode()


@pytest.mark.parametrize(
    "model",
    [model for model in admin.site._registry],
    ids=lambda model: f"{model._meta.app_label}.{model._meta.model_name}",
)
def test_every_changelist_loads_and_searches(admin_client_with_data, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client_with_data.get(url).status_code == 200
    assert admin_client_with_data.get(url, {"q": "cell"}).status_code == 200


def test_submissions_are_read_only_in_the_admin(admin_client_with_data):
    submission = SubmissionFactory.create()
    url = reverse("admin:grading_submission_change", args=[submission.pk])
    admin_client_with_data.post(url, {"text": "rewritten"})
    submission.refresh_from_db()
    assert submission.text != "rewritten"
