"""Deep linking: an instructor places the tutor or a new assignment, and the LMS accepts the response."""

from decimal import Decimal

import pytest
import requests
from django.test import Client

from grading.models import Assignment
from tests.eduai.lti.conftest import LTI, form_of

pytestmark = pytest.mark.django_db
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def _deep_link_page(lti_flow, client, user="u-teacher"):
    response = lti_flow.launch(client, user, message="deep_link")
    return response, form_of(response.content.decode())[1] if response.status_code == 200 else {}


def _submit(client, launch_id, **fields):
    return client.post("/lti/deep-link/", {"launch_id": launch_id, "max_score": "10", **fields})


def _return_to_platform(response):
    assert response.status_code == 200, response.content[:500]
    action, fields = form_of(response.content.decode())
    return requests.post(action, data={"JWT": fields["JWT"]}, timeout=10)


def test_placing_a_new_assignment_creates_it_and_its_line_item(lti_flow):
    client = Client()
    page, fields = _deep_link_page(lti_flow, client)
    assert "Add an eduai activity" in page.content.decode()
    response = _submit(
        client,
        fields["launch_id"],
        kind="assignment",
        title="Cell walls",
        prompt="Why do plants have them?",
        max_score="20",
    )
    platform_answer = _return_to_platform(response)
    assert platform_answer.status_code == 200, platform_answer.text

    assignment = Assignment.objects.get()
    assert (assignment.title, assignment.max_score, assignment.course.title) == (
        "Cell walls",
        Decimal(20),
        "Biology 101",
    )
    claims = lti_flow.platform.store["deep_link_responses"][-1]["claims"]
    assert claims["iss"] == lti_flow.platform.client_id
    assert lti_flow.platform.iss in claims["aud"]
    assert claims[LTI + "deployment_id"] == lti_flow.platform.deployment_id
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims["nonce"]
    assert claims[DL + "data"] == {"opaque": "xyz"}, "the platform's data is echoed"
    (item,) = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == "http://testserver/lti/launch/"
    assert item["custom"] == {"eduai_assignment": str(assignment.pk)}
    assert item["lineItem"] == {
        "scoreMaximum": 20.0,
        "label": "Cell walls",
        "resourceId": f"eduai-assignment-{assignment.pk}",
        "tag": "eduai-grade",
    }


def test_the_placed_assignment_opens_for_students_on_its_resource_link(lti_flow):
    client = Client()
    _, fields = _deep_link_page(lti_flow, client)
    _submit(client, fields["launch_id"], kind="assignment", title="Cell walls", prompt="Why?")
    assignment = Assignment.objects.get()
    hint = {"resource_link_id": "rl-cell-walls", "custom": {"eduai_assignment": str(assignment.pk)}}
    response = lti_flow.launch(Client(), "u-student", **hint)
    assert response.status_code == 200
    assert "Cell walls" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.resource_link is not None
    assert assignment.resource_link.id_on_platform == "rl-cell-walls"


def test_placing_the_tutor_creates_no_assignment(lti_flow):
    client = Client()
    _, fields = _deep_link_page(lti_flow, client)
    answer = _return_to_platform(_submit(client, fields["launch_id"], kind="tutor"))
    assert answer.status_code == 200
    (item,) = lti_flow.platform.store["deep_link_responses"][-1]["claims"][DL + "content_items"]
    assert item["custom"] == {"eduai_resource": "tutor"}
    assert "lineItem" not in item
    assert not Assignment.objects.exists()


def test_an_assignment_without_title_or_prompt_is_sent_back_with_errors(lti_flow):
    client = Client()
    _, fields = _deep_link_page(lti_flow, client)
    response = _submit(client, fields["launch_id"], kind="assignment", title="", prompt="")
    assert response.status_code == 400
    assert "An assignment needs this." in response.content.decode()
    assert not Assignment.objects.exists()


def test_a_deep_linking_page_can_be_submitted_only_once(lti_flow):
    client = Client()
    _, fields = _deep_link_page(lti_flow, client)
    assert _submit(client, fields["launch_id"], kind="tutor").status_code == 200
    again = _submit(client, fields["launch_id"], kind="tutor")
    assert again.status_code == 400
    assert "expired" in again.content.decode()


@pytest.mark.parametrize("launch_id", ["", "lti1p3-launch-not-a-launch", "something-else"])
def test_deep_linking_submit_needs_a_real_launch(db, launch_id):
    response = Client().post("/lti/deep-link/", {"launch_id": launch_id, "kind": "tutor"})
    assert response.status_code == 400


def test_learners_cannot_place_content(lti_flow):
    lti_flow.platform.users["u-student"]["roles"] = [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
    ]
    response = lti_flow.launch(Client(), "u-student", message="deep_link")
    assert response.status_code == 403


def test_a_resource_launch_id_cannot_be_used_for_deep_linking(lti_flow):
    client = Client()
    lti_flow.launch(client, "u-teacher")
    launch_id = client.session["_lti_tool_launch_id"]
    response = _submit(client, launch_id, kind="tutor")
    assert response.status_code == 400
