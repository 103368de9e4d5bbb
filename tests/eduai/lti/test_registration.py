"""Connecting an LMS: Dynamic Registration, Canvas's JSON, the setup page and the admin."""

import pytest
from django.test import Client
from lti_tool.models import LtiDeployment, LtiRegistration

from eduai.audit.models import AuditEntry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(lti_platform, db):
    lti_platform.configure(tool_jwks={"keys": []})
    return lti_platform


def _register(platform, token="reg-token-1"):  # noqa: S107 - the loopback platform's test token
    return Client().get(
        "/lti/register/",
        {
            "openid_configuration": platform.url + "/.well-known/openid-configuration",
            "registration_token": token,
        },
    )


def test_dynamic_registration_registers_with_the_platform_and_waits_for_an_admin(platform, settings):
    settings.DEBUG = True  # the loopback platform speaks plain http
    response = _register(platform)
    assert response.status_code == 200, response.content[:500]
    assert "org.imsglobal.lti.close" in response.content.decode()

    registration = LtiRegistration.objects.get(client_id="client-dr")
    assert not registration.is_active, "inactive until an admin activates it"
    assert (registration.issuer, registration.token_url) == (platform.iss, platform.url + "/token")
    assert LtiDeployment.objects.get(registration=registration).deployment_id == "dep-dr"
    (sent,) = platform.store["registrations"]
    assert sent["initiate_login_uri"] == "http://testserver/lti/login/"
    assert sent["redirect_uris"] == ["http://testserver/lti/launch/"]
    assert sent["jwks_uri"] == "http://testserver/lti/jwks/"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"].split()


def test_dynamic_registration_can_activate_at_once_when_configured(platform, settings):
    settings.DEBUG = True
    settings.LTI_AUTO_ACTIVATE_REGISTRATIONS = True
    assert _register(platform).status_code == 200
    assert LtiRegistration.objects.get(client_id="client-dr").is_active


def test_registering_twice_updates_the_same_registration(platform, settings):
    settings.DEBUG = True
    _register(platform)
    _register(platform)
    registration = LtiRegistration.objects.get(client_id="client-dr")
    # Each registration is in the audit log, by the system (the platform's administrator).
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.REGISTRATION_CHANGE).order_by("id")
    assert [(e.actor_label, e.target_id, e.details["created"]) for e in entries] == [
        ("system", str(registration.pk), True),
        ("system", str(registration.pk), False),
    ]
    assert entries[0].details["via"] == "dynamic registration"
    assert entries[0].details["active"] is False


@pytest.mark.parametrize(
    ("debug", "token", "reason"),
    [
        pytest.param(False, "reg-token-1", "not an https URL", id="plain http in production"),
        pytest.param(True, "wrong-token", "401", id="wrong registration token"),
    ],
)
def test_failed_registrations_are_explained_and_store_nothing(platform, settings, debug, token, reason):
    settings.DEBUG = debug
    response = _register(platform, token=token)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not LtiRegistration.objects.exists()


def test_a_configuration_from_another_site_than_its_issuer_is_refused(platform, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setattr(platform, "iss", "http://other-lms.test")
    response = _register(platform)
    assert response.status_code == 400
    assert "not under the issuer" in response.content.decode()


def test_registration_without_openid_configuration_is_a_400(db):
    assert Client().get("/lti/register/").status_code == 400


def test_canvas_configuration_json(client):
    config = client.get("/lti/canvas.json").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login/"
    assert config["target_link_uri"] == "http://testserver/lti/launch/"
    assert config["public_jwk_url"] == "http://testserver/lti/jwks/"
    placements = {
        p["placement"]: p["message_type"] for p in config["extensions"][0]["settings"]["placements"]
    }
    assert placements["link_selection"] == "LtiDeepLinkingRequest"


def test_setup_page_lists_the_urls_for_admins_only(client):
    assert client.get("/lti/setup/").status_code == 302  # to the admin login
    client.force_login(UserFactory.create(is_staff=True))
    page = client.get("/lti/setup/").content.decode()
    for url in ("/lti/register/", "/lti/canvas.json", "/lti/login/", "/lti/launch/", "/lti/jwks/"):
        assert f"http://testserver{url}" in page


def test_registration_admin_shows_the_login_url(client, lti_registration):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/lti_tool/ltiregistration/{lti_registration.pk}/change/").content.decode()
    assert f"/lti/login/{lti_registration.uuid}/" in page
    assert client.get("/admin/lti_tool/ltiregistration/", {"q": "Loopback"}).status_code == 200
