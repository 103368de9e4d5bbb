import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.integration
def test_readyz_reports_every_dependency(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "generator_model", "encoder_model"}
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert "RedisCache" in body["checks"]["cache"]["detail"]


def test_readyz_is_503_when_a_model_is_missing(client, tmp_path):
    with override_settings(EDUAI_ENCODER_MODEL=str(tmp_path / "no-such-model")):
        response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["encoder_model"]
    assert check["ok"] is False
    assert "does not exist" in check["detail"]


def test_readyz_is_503_when_the_broker_is_unreachable(client):
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_server_error_is_503_only_for_an_unreachable_service() -> None:
    from django.db import OperationalError
    from django.test import RequestFactory

    from eduai.operations.views import server_error

    request = RequestFactory().get("/api/v1/me/")
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert "Retry-After" not in response
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(RequestFactory().get("/lti/launch/"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


def test_server_error_is_503_for_an_unreachable_cache_or_broker() -> None:
    import redis
    from django.test import RequestFactory
    from kombu.exceptions import OperationalError as BrokerOperationalError

    from eduai.operations.views import server_error

    for error in (redis.exceptions.ConnectionError("refused"), BrokerOperationalError("refused")):
        try:
            raise error
        except (redis.exceptions.ConnectionError, BrokerOperationalError):
            response = server_error(RequestFactory().get("/api/v1/generations/x/events"))
        assert response.status_code == 503
        body = json.loads(response.content)
        assert "try again" in body["detail"]
        assert "database" not in body["detail"]
        assert response["Retry-After"] == "30"
