"""pylti1p3 service clients (AGS, NRPS) for a course's LTI context, outside any launch.

Workers post grades and sync rosters long after the launch that created the context, so the
clients are built from what the launch stored on ``LtiContext``, and every call has a timeout.
"""

from lti_tool.lti_core.constants import AgsScope
from lti_tool.models import LtiContext
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector

from .protocol import TimeoutSession


def _connector(context: LtiContext) -> ServiceConnector:
    registration = context.deployment.registration.to_registration()
    return ServiceConnector(registration, requests_session=TimeoutSession())


def ags_client(*, context: LtiContext) -> AssignmentsGradesService:
    granted = {
        AgsScope.MANAGE_LINEITEMS: context.can_manage_lineitems,
        AgsScope.QUERY_LINEITEMS: context.can_query_lineitems,
        AgsScope.PUBLISH_SCORES: context.can_publish_scores,
        AgsScope.ACCESS_RESULTS: context.can_access_results,
    }
    scopes = [scope.value for scope, allowed in granted.items() if allowed]
    return AssignmentsGradesService(
        _connector(context),
        {"scope": scopes, "lineitems": context.lineitems_url},
    )


def nrps_client(*, context: LtiContext) -> NamesRolesProvisioningService:
    return NamesRolesProvisioningService(
        _connector(context),
        {"context_memberships_url": context.memberships_url},
    )
