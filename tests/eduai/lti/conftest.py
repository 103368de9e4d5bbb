"""The loopback LMS (one per session) and a helper that drives the browser's side of a launch."""

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from django.test import Client
from jwcrypto.jwk import JWK
from lti_tool.models import Key, LtiDeployment, LtiRegistration

from eduai.lti.protocol import platform_keys_forget
from tests.eduai.lti.platform import LoopbackPlatform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture(scope="session")
def lti_platform() -> Iterator[LoopbackPlatform]:
    platform = LoopbackPlatform().start()
    yield platform
    platform.stop()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the first form on an HTML page."""
    action = re.search(r'<form[^>]*action="([^"]*)"', page)
    assert action, page[:500]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
    return action.group(1).replace("&amp;", "&"), fields


class LtiFlow:
    """The browser's hops: LMS -> tool login -> LMS authorization -> tool launch."""

    def __init__(self, platform: LoopbackPlatform, registration: LtiRegistration) -> None:
        self.platform = platform
        self.registration = registration

    def login(self, client: Client, user: str, *, new_window: bool = True, **hint: Any):
        url = self.platform.login_initiation_url(user, **hint)
        return client.get(path_of(url) + ("&lti1p3_new_window=1" if new_window else ""))

    def authorize(self, client: Client, user: str, **hint: Any) -> tuple[str, dict[str, str]]:
        """Steps 1-2: the platform's auto-submit form with id_token and state."""
        response = self.login(client, user, **hint)
        assert response.status_code == 302, response.content[:300]
        authorization = requests.get(response["Location"], timeout=10)
        assert authorization.status_code == 200, authorization.text
        return form_of(authorization.text)

    def launch(self, client: Client, user: str, **hint: Any):
        action, fields = self.authorize(client, user, **hint)
        return client.post(path_of(action), {"id_token": fields["id_token"], "state": fields["state"]})

    def forged_launch(
        self,
        mutate: Callable[[dict[str, Any]], object] = lambda claims: None,
        *,
        header: dict[str, Any] | None = None,
        key: str | None = None,
        user: str = "u-teacher",
    ):
        """A launch whose genuine id_token was changed and signed again (or not signed at all)."""
        client = Client()
        action, fields = self.authorize(client, user)
        claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
        mutate(claims)
        header = header if header is not None else {"alg": "RS256", "kid": self.platform.kid}
        token = sign(claims, header, key or self.platform.private_pem)
        return client.post(path_of(action), {"id_token": token, "state": fields["state"]})


def sign(claims: dict[str, Any], header: dict[str, Any], private_pem: str) -> str:
    algorithm = header.get("alg")
    extra = {name: value for name, value in header.items() if name not in {"alg", "typ"}}
    if algorithm == "none":

        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        return f"{part(header)}.{part(claims)}."
    if algorithm == "HS256":
        return jwt.encode(claims, "a-shared-secret-that-is-long-enough!", algorithm="HS256", headers=extra)
    return jwt.encode(claims, private_pem, algorithm="RS256", headers=extra or None)


@pytest.fixture(scope="session")
def tool_key_pair() -> dict[str, str]:
    # Generated once per session: RSA generation costs CPU that this machine shares.
    jwk = JWK.generate(kty="RSA", size=2048)
    return {
        "public_key": jwk.export_to_pem().decode(),
        "private_key": jwk.export_to_pem(private_key=True, password=None).decode(),
    }


@pytest.fixture
def lti_registration(db, lti_platform: LoopbackPlatform, tool_key_pair: dict[str, str]) -> LtiRegistration:
    # The platform's keys as an earlier test cached them (states and nonces are unique anyway).
    platform_keys_forget(lti_platform.url + "/jwks")
    Key.objects.create(**tool_key_pair)
    registration = LtiRegistration.objects.create(
        name="Loopback LMS",
        uuid=uuid.uuid4(),
        issuer=lti_platform.iss,
        client_id=lti_platform.client_id,
        auth_url=lti_platform.url + "/auth",
        token_url=lti_platform.url + "/token",
        keyset_url=lti_platform.url + "/jwks",
    )
    LtiDeployment.objects.create(
        registration=registration, deployment_id=lti_platform.deployment_id, is_active=True
    )
    lti_platform.configure(tool_jwks=Key.objects.as_jwks())
    return registration


@pytest.fixture
def lti_flow(lti_platform: LoopbackPlatform, lti_registration: LtiRegistration) -> LtiFlow:
    return LtiFlow(lti_platform, lti_registration)
