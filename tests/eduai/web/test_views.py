"""The landing page, and the staff-only component gallery with its demo endpoints."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eduai.web.charts import bar_chart_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("admin", is_staff=True))
    return client


def test_the_landing_page_points_admins_to_the_admin_and_setup(client):
    page = client.get("/").content.decode()
    assert 'href="/admin/"' in page
    assert 'href="/lti/setup/"' in page


def test_the_gallery_is_for_staff_only(client, django_user_model):
    assert client.get("/ui/components/").status_code == 302
    client.force_login(django_user_model.objects.create_user("student"))
    assert client.get("/ui/components/").status_code == 302


def test_the_gallery_shows_every_component(staff_client):
    page = staff_client.get("/ui/components/").content.decode()
    for marker in (
        'class="component chat"',
        "submission",
        "review-table",
        "<svg",
        "state-empty",
        "state-error",
        "toast",
    ):
        assert marker in page
    assert "data-chat-start-url" not in page, "no canned answers outside the tests' URLconf"


@pytest.mark.parametrize("htmx", [True, False])
def test_an_empty_submission_is_a_400_with_the_error_in_place(staff_client, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = staff_client.post("/ui/components/submit/", {"text": "  "}, headers=headers)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Type an answer or choose a file." in page
    assert ("<html" in page) is not htmx, "htmx gets the fragment, a plain post the whole page"


def test_a_file_of_another_type_is_refused(staff_client):
    upload = SimpleUploadedFile("run.exe", b"MZ")
    response = staff_client.post("/ui/components/submit/", {"file": upload}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "is not allowed" in response.content.decode()


def test_a_submission_is_accepted(staff_client):
    upload = SimpleUploadedFile("essay.txt", b"Water moves.")
    response = staff_client.post(
        "/ui/components/submit/", {"text": "Hello", "file": upload}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Received 5 characters of text and the file essay.txt." in response.content.decode()


def test_a_bulk_action_without_rows_is_a_400_and_with_rows_a_toast(staff_client):
    assert staff_client.post("/ui/components/review/", {"action": "approve"}).status_code == 400
    assert staff_client.post("/ui/components/review/", {"action": "drop", "ids": ["1"]}).status_code == 400
    response = staff_client.post("/ui/components/review/", {"action": "approve", "ids": ["1", "2"]})
    assert response.status_code == 204
    assert "2 items: Approve and release." in response["HX-Trigger"]


def test_bar_chart_geometry():
    chart = bar_chart_build(title="t", description="d", series=[("a", 0.5), ("b", 1.0), ("c", 0)], maximum=1)
    full, half, empty = chart.bars[1], chart.bars[0], chart.bars[2]
    assert full.y + full.height == pytest.approx(chart.baseline)
    assert half.height == pytest.approx(full.height / 2)
    assert empty.height == 0
    assert [bar.label_x for bar in chart.bars] == sorted(bar.label_x for bar in chart.bars)
    with pytest.raises(ValueError, match="non-negative"):
        bar_chart_build(title="t", description="d", series=[("a", -1)])
