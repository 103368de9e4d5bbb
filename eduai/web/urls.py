from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("ui/components/", views.components, name="components"),
    path("ui/components/submit/", views.components_submit, name="components-submit"),
    path("ui/components/review/", views.components_review, name="components-review"),
]
