"""What eduai tells an LMS about itself: its URLs, the Dynamic Registration request and Canvas's JSON.

Pure functions of the tool's URLs, so the admin page, the Canvas JSON and the registration
request can never disagree.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse
from lti_tool.lti_core.constants import AgsScope

TOOL_NAME = "eduai"
TOOL_DESCRIPTION = "AI tutoring grounded in the course's material, and AI-assisted grading with passback."
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = [scope.value for scope in AgsScope] + [NRPS_SCOPE]
TOOL_CONFIGURATION_CLAIM = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass(frozen=True)
class ToolUrls:
    login: str
    launch: str
    jwks: str
    dynamic_registration: str
    canvas_configuration: str

    @property
    def domain(self) -> str:
        return urlsplit(self.launch).netloc


def tool_urls(request: HttpRequest) -> ToolUrls:
    """Absolute URLs as the LMS must see them (behind a proxy, set SECURE_PROXY_SSL_HEADER)."""

    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return ToolUrls(
        login=absolute("lti:login"),
        launch=absolute("lti:launch"),
        jwks=absolute("lti:jwks"),
        dynamic_registration=absolute("lti:register"),
        canvas_configuration=absolute("lti:canvas-configuration"),
    )


def dynamic_registration_request(urls: ToolUrls) -> dict[str, Any]:
    """The OpenID client registration eduai sends (LTI Dynamic Registration 1.0, section 3.5)."""
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": TOOL_NAME,
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION_CLAIM: {
            "domain": urls.domain,
            "description": TOOL_DESCRIPTION,
            "target_link_uri": urls.launch,
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "target_link_uri": urls.launch},
                {"type": "LtiDeepLinkingRequest", "target_link_uri": urls.launch, "label": TOOL_NAME},
            ],
        },
    }


def canvas_configuration(urls: ToolUrls) -> dict[str, Any]:
    """Canvas's developer-key JSON (Admin > Developer Keys > + LTI Key > Enter URL)."""

    def placement(name: str, message_type: str) -> dict[str, str]:
        return {"placement": name, "message_type": message_type, "target_link_uri": urls.launch}

    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "public_jwk_url": urls.jwks,
        "scopes": SCOPES,
        "extensions": [
            {
                "domain": urls.domain,
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "placements": [
                        placement("link_selection", "LtiDeepLinkingRequest"),
                        placement("assignment_selection", "LtiDeepLinkingRequest"),
                        placement("course_navigation", "LtiResourceLinkRequest"),
                    ]
                },
            }
        ],
    }
