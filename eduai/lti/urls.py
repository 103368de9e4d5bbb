from django.urls import path

from . import views

app_name = "lti"

urlpatterns = [
    path("login/", views.login_initiation, name="login"),
    path("login/<uuid:registration_uuid>/", views.login_initiation, name="login-registration"),
    path("launch/", views.launch, name="launch"),
    path("resource/", views.resource, name="resource"),
    path("deep-link/", views.deep_link_submit, name="deep-link"),
    path("jwks/", views.jwks, name="jwks"),
    path("register/", views.register, name="register"),
    path("canvas.json", views.canvas_configuration_json, name="canvas-configuration"),
    path("setup/", views.setup, name="setup"),
]
