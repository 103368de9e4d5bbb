"""Every forged or broken launch gets a clear 4xx page and a log line, never a 500 or a session."""

import logging
import time

import jwt
import pytest
from django.test import Client
from jwcrypto.jwk import JWK
from lti_tool.models import LtiDeployment, LtiUser

from tests.eduai.lti.conftest import LTI, path_of, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def stranger_private_pem() -> str:
    return str(JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode())


def _pop(claim):
    return lambda claims: claims.pop(claim)


def _set(**values):
    return lambda claims: claims.update(values)


def _set_claim(claim, value):
    return lambda claims: claims.update({claim: value})


def _times(iat_offset, exp_offset):
    now = int(time.time())
    return lambda claims: claims.update({"iat": now + iat_offset, "exp": now + exp_offset})


FORGERIES = {
    "wrong LTI version": (_set_claim(LTI + "version", "1.1.0"), "version"),
    "no LTI version": (_pop(LTI + "version"), "version"),
    "no message_type": (_pop(LTI + "message_type"), "message type"),
    "unknown message_type": (_set_claim(LTI + "message_type", "LtiMagicRequest"), "message type"),
    "no roles": (_pop(LTI + "roles"), "Roles"),
    "roles not a list": (_set_claim(LTI + "roles", "Instructor"), "roles"),
    "no deployment_id": (_pop(LTI + "deployment_id"), "deployment_id"),
    "no resource_link.id": (lambda claims: claims[LTI + "resource_link"].pop("id"), "Resource Link"),
    "context not an object": (_set_claim(LTI + "context", "ctx-1"), "context"),
    "no sub": (_pop("sub"), "sub"),
    "deployment_id not a string": (_set_claim(LTI + "deployment_id", {"id": "dep-1"}), "deployment_id"),
    "deployment_id too long": (_set_claim(LTI + "deployment_id", "d" * 256), "deployment_id"),
    "expired": (_times(-400, -120), "expired"),
    "issued in the future": (_times(3600, 7200), "iat"),
    "issued too long ago": (_times(-7200, 120), "too long ago"),
    "no exp": (_pop("exp"), "exp"),
    "no iat": (_pop("iat"), "iat"),
    "wrong iss": (_set(iss="http://evil.test"), "Registration not found"),
    "wrong aud": (_set(aud="someone-else"), "Registration not found"),
    "aud list without azp": (
        lambda claims: (claims.pop("azp", None), claims.update(aud=["client-1", "x"])),
        "azp",
    ),
    "aud list with a wrong azp": (_set(aud=["client-1", "other"], azp="other"), "Registration not found"),
    "azp not our client": (_set(azp="other"), "azp is not our client id"),
}


@pytest.mark.parametrize(("mutate", "reason"), FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_claims_are_rejected(lti_flow, caplog, mutate, reason):
    with caplog.at_level(logging.WARNING, logger="eduai.lti.views"):
        response = lti_flow.forged_launch(mutate)
    assert response.status_code == 400
    page = response.content.decode()
    assert "could not be opened" in page
    assert reason.lower() in page.lower()
    assert "LTI request rejected with 400" in caplog.text
    assert not LtiUser.objects.exists(), "nothing is written for a rejected launch"


HEADERS = {
    "no kid": ({"alg": "RS256"}, "KID not found"),
    "wrong kid": ({"alg": "RS256", "kid": "not-a-platform-key"}, "Unable to find public key"),
    "alg none": ({"alg": "none", "kid": "KID"}, "Unsupported JWT alg"),
    "alg HS256": ({"alg": "HS256", "kid": "KID"}, "Unsupported JWT alg"),
}


@pytest.mark.parametrize(("header", "reason"), HEADERS.values(), ids=HEADERS.keys())
def test_forged_headers_are_rejected(lti_flow, header, reason):
    header = {name: (lti_flow.platform.kid if value == "KID" else value) for name, value in header.items()}
    response = lti_flow.forged_launch(header=header)
    assert response.status_code == 400
    assert reason in response.content.decode()


def test_a_signature_by_another_key_is_rejected(lti_flow, stranger_private_pem):
    response = lti_flow.forged_launch(key=stranger_private_pem)
    assert response.status_code == 400
    assert "Signature verification failed" in response.content.decode()


def test_unknown_deployment_is_refused_and_recorded_inactive_for_the_admin(lti_flow, caplog):
    with caplog.at_level(logging.WARNING, logger="eduai.lti.views"):
        response = lti_flow.forged_launch(_set_claim(LTI + "deployment_id", "dep-new"))
    assert response.status_code == 403
    assert "dep-new" in response.content.decode()
    assert "LTI request rejected with 403" in caplog.text
    assert not LtiDeployment.objects.get(deployment_id="dep-new").is_active
    assert not LtiUser.objects.exists()


def test_inactive_deployment_is_refused(lti_flow):
    LtiDeployment.objects.update(is_active=False)
    response = lti_flow.launch(Client(), "u-teacher")
    assert response.status_code == 403


def test_a_replayed_id_token_is_rejected_even_with_its_state(lti_flow):
    client = Client()
    action, fields = lti_flow.authorize(client, "u-teacher")
    form = {"id_token": fields["id_token"], "state": fields["state"]}
    assert client.post(path_of(action), form).status_code == 200
    for replayer in (client, Client()):
        replay = replayer.post(path_of(action), form)
        assert replay.status_code == 400
        assert "State not found" in replay.content.decode() or "already used" in replay.content.decode()


def test_the_nonce_is_single_use_even_if_the_state_survived(lti_flow, monkeypatch):
    # Simulates a second post racing the first before the state is deleted.
    from eduai.lti.protocol import LaunchStateStorage

    monkeypatch.setattr(LaunchStateStorage, "delete_value", lambda self, key: None)
    client = Client()
    action, fields = lti_flow.authorize(client, "u-teacher")
    form = {"id_token": fields["id_token"], "state": fields["state"]}
    assert client.post(path_of(action), form).status_code == 200
    replay = Client().post(path_of(action), form)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"state": "state-bogus"}, id="wrong state"),
        pytest.param({"state": ""}, id="no state"),
        pytest.param({"id_token": "not-a-jwt"}, id="garbage id_token"),
        pytest.param({"id_token": "e30.W10.e30"}, id="body not an object"),
        pytest.param({"id_token": ""}, id="no id_token"),
    ],
)
def test_broken_launch_posts_are_rejected(lti_flow, form):
    client = Client()
    action, fields = lti_flow.authorize(client, "u-teacher")
    response = client.post(path_of(action), {**fields, **form})
    assert response.status_code == 400
    assert "could not be opened" in response.content.decode()


def test_a_nonce_that_does_not_belong_to_the_state_is_rejected(lti_flow):
    response = lti_flow.forged_launch(_set(nonce="nonce-of-another-login"))
    assert response.status_code == 400
    assert "nonce" in response.content.decode().lower()


def test_get_on_the_launch_url_is_not_allowed(lti_flow):
    assert Client().get("/lti/launch/").status_code == 405


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            "iss=http://evil.test&login_hint=x&target_link_uri=http://testserver/lti/launch/",
            id="unknown iss",
        ),
        pytest.param("iss=ISS&login_hint=x&client_id=client-1", id="no target_link_uri"),
        pytest.param(
            "iss=ISS&target_link_uri=http://testserver/lti/launch/&client_id=client-1", id="no login_hint"
        ),
    ],
)
def test_bad_login_initiations_are_rejected(lti_flow, query):
    query = query.replace("ISS", lti_flow.platform.iss)
    response = Client().get(f"/lti/login/?lti1p3_new_window=1&{query}")
    assert response.status_code == 400
    assert "could not be opened" in response.content.decode()


def test_inactive_registration_cannot_log_in(lti_flow):
    lti_flow.registration.is_active = False
    lti_flow.registration.save()
    response = lti_flow.login(Client(), "u-teacher")
    assert response.status_code == 400


def test_a_cache_key_that_is_not_a_state_is_not_accepted_as_one(lti_flow):
    client = Client()
    action, fields = lti_flow.authorize(client, "u-teacher")
    first = client.post(path_of(action), fields)
    assert first.status_code == 200
    launch_id = client.session["_lti_tool_launch_id"]
    # The launch data (which holds a nonce) lives in the same cache as the states.
    response = Client().post(path_of(action), {**fields, "state": launch_id.removeprefix("lti1p3-")})
    assert response.status_code == 400
    assert "not a state this tool issued" in response.content.decode()


DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


@pytest.mark.parametrize(
    "settings_claim",
    [
        pytest.param("not-an-object", id="settings not an object"),
        pytest.param(
            {"accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe"]},
            id="no return url",
        ),
        pytest.param(
            {
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe"],
                "deep_link_return_url": "javascript:alert(1)",
            },
            id="return url not a web address",
        ),
    ],
)
def test_broken_deep_linking_settings_are_rejected(lti_flow, settings_claim):
    client = Client()
    action, fields = lti_flow.authorize(client, "u-teacher", message="deep_link")
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims[DL_SETTINGS] = settings_claim
    token = sign(claims, {"alg": "RS256", "kid": lti_flow.platform.kid}, lti_flow.platform.private_pem)
    response = client.post(path_of(action), {"id_token": token, "state": fields["state"]})
    assert response.status_code == 400


@pytest.mark.integration  # SQLite stores over-long values; PostgreSQL refuses them
def test_claims_too_long_to_store_are_a_400_not_a_500(lti_flow):
    response = lti_flow.forged_launch(_set(name="N" * 600))
    assert response.status_code == 400
    assert "cannot store" in response.content.decode()
    assert not LtiUser.objects.exists()
