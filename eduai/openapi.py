"""OpenAPI schema generation (drf-spectacular) for the project's API style.

Every API view nests its own `InputSerializer` and `OutputSerializer`; drf-spectacular would
name all of them "Input" and "Output", and one component would silently stand for all. Nested
serializers are named after their view instead: `GradeOverrideApi.InputSerializer` becomes the
component `GradeOverrideApiInput`. The course API token is declared as a bearer scheme.
"""

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ProjectAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        qualified: str = type(serializer).__qualname__
        return (
            qualified.replace(".", "")
            if "." in qualified
            else super().get_serializer_name(serializer, direction)
        )


class CourseTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The course-scoped API token (`api_token_create`): `Authorization: Bearer <token>`."""

    target_class = "eduai.courses.authentication.CourseTokenAuthentication"
    name = "courseToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")  # noqa: S106
