from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from eduai.courses.apis import MeApi
from eduai.ml.apis import GenerationStartApi
from eduai.ml.views import generation_events
from eduai.operations.views import healthz, readyz
from eduai.web.views import home

handler400 = "eduai.operations.views.bad_request"
handler500 = "eduai.operations.views.server_error"

admin.site.site_header = "eduai administration"
admin.site.site_title = "eduai admin"
admin.site.index_title = "Platforms, courses, models and tasks"

api_v1 = [
    path("me/", MeApi.as_view(), name="me"),
    path("generations/", GenerationStartApi.as_view(), name="generation-start"),
]

urlpatterns = [
    path("", home, name="home"),
    path("", include("eduai.web.urls", namespace="web")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("lti/", include("eduai.lti.urls", namespace="lti")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/v1/analytics/", include("analytics.urls", namespace="analytics")),
    path("analytics/", include("analytics.web_urls", namespace="analytics-web")),
    path("api/v1/tutoring/", include("tutoring.api_urls", namespace="tutoring-api")),
    path("tutoring/", include("tutoring.urls", namespace="tutoring")),
    path("api/v1/grading/", include("grading.api_urls", namespace="grading-api")),
    path("grading/", include("grading.urls", namespace="grading")),
    # Plain Django view: DRF's content negotiation does not know text/event-stream.
    path("api/v1/generations/<uuid:stream_id>/events", generation_events, name="generation-events"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
