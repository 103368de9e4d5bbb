"""The frame-ancestors origins come from the database when the cache cannot be reached."""

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings
from lti_tool.models import LtiRegistration

from eduai.web.selectors import platform_origins_list

pytestmark = pytest.mark.django_db

# Port 9 (discard) on loopback: nothing listens there, so every cache call is refused.
UNREACHABLE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
}


def test_platform_origins_survive_an_unreachable_cache():
    LtiRegistration.objects.create(
        name="LMS",
        issuer="https://lms.school.edu",
        client_id="c",
        auth_url="https://lms.school.edu/auth",
        token_url="https://lms.school.edu/token",
        keyset_url="https://lms.school.edu/jwks",
        is_active=True,
    )
    with override_settings(CACHES=UNREACHABLE_CACHE):
        with pytest.raises(redis.exceptions.ConnectionError):
            cache.get("anything")
        assert platform_origins_list() == ["https://lms.school.edu"]
