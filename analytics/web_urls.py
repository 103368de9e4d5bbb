from django.urls import path

from . import views

app_name = "analytics-web"

urlpatterns = [
    path("courses/<int:course_id>/dashboard/", views.course_dashboard_page, name="dashboard"),
    path("courses/<int:course_id>/export/<slug:table>.csv", views.course_export, name="export"),
    path("courses/<int:course_id>/next-step/", views.next_step_page, name="next-step"),
    path("courses/<int:course_id>/next-step/practice/", views.practice_attempt, name="practice"),
]
