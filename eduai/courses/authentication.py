"""`Authorization: Bearer <key>` with a course-scoped `ApiToken`."""

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .models import ApiToken

KEY_PREFIX = "eduai_"


def api_token_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_key_new() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class CourseTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Give the token as 'Authorization: Bearer <key>'.")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as error:
            raise AuthenticationFailed("The token is not valid.") from error
        token = (
            ApiToken.objects.usable()
            .select_related("user", "course")
            .filter(key_hash=api_token_key_hash(key))
            .first()
        )
        if token is None or not token.user.is_active:
            raise AuthenticationFailed("The token is not valid, has expired or was revoked.")
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        user = token.user
        user.api_token = token  # type: ignore[attr-defined]  # read by eduai.courses.access
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` (Django REST framework's site-wide tokens): staff only.

    Such a token is not limited to a course, so only site staff (integration accounts the IT
    admins make) may use one; everyone else uses a course-scoped `Bearer` token.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        if not user.is_staff:
            raise AuthenticationFailed(
                "Site-wide tokens are for staff accounts; ask for a course-scoped API token."
            )
        return user, token
