"""OpenAPI schema generation (drf-spectacular) for the project's API style.

Every API view nests its own `InputSerializer` and `OutputSerializer`; drf-spectacular would
name all of them "Input" and "Output", and one component would silently stand for all. Nested
serializers are named after their view instead: `GradeOverrideApi.InputSerializer` becomes the
component `GradeOverrideApiInput`.
"""

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema


class ProjectAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        qualified: str = type(serializer).__qualname__
        return (
            qualified.replace(".", "")
            if "." in qualified
            else super().get_serializer_name(serializer, direction)
        )
