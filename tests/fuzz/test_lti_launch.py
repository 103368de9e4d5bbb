"""Fuzzing LTI launch parsing: a genuine launch from the loopback platform, its claims changed
at random and signed again with the platform's real key (so every check after the signature is
reached), must be accepted or refused with a 4xx page, never a server error."""

import base64
import json
import os
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.eduai.lti.conftest import path_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EXPLORE = os.environ.get("FUZZ_EXAMPLES")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=int(EXPLORE or 25),
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_launch_claims_never_cause_a_server_error(lti_flow: Any, data: st.DataObject) -> None:
    def mutate(claims: dict[str, Any]) -> None:
        keys = sorted(claims)
        for _ in range(data.draw(st.integers(1, 4), label="mutations")):
            key = data.draw(st.sampled_from(keys) | st.text(max_size=40), label="claim")
            if data.draw(st.booleans(), label="delete") and key in claims:
                del claims[key]
            elif key in claims and isinstance(claims[key], dict) and claims[key]:
                inner = data.draw(st.sampled_from(sorted(claims[key])), label="inner claim")
                claims[key][inner] = data.draw(JSON, label="inner value")
            else:
                claims[key] = data.draw(JSON, label="value")

    user = data.draw(st.sampled_from(["u-teacher", "u-student"]), label="user")
    client = Client()
    action, fields = lti_flow.authorize(client, user)
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    mutate(claims)
    token = _rs256(claims, kid=lti_flow.platform.kid, private_pem=lti_flow.platform.private_pem)
    response = client.post(path_of(action), {"id_token": token, "state": fields["state"]})
    assert response.status_code in {200, 302, 400, 403}, response.content[:500]


def _rs256(claims: dict[str, Any], *, kid: str, private_pem: str) -> str:
    """Sign any JSON, including claims PyJWT's encoder refuses (a number as `iss`, say), as a
    hostile platform could."""

    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    algorithm = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    key = cast(RSAPrivateKey, algorithm.prepare_key(private_pem))
    signature = algorithm.sign(signing_input.encode(), key)
    return f"{signing_input}.{part(signature)}"
