from django.urls import path

from . import views

app_name = "grading"

urlpatterns = [
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/submit/", views.submission_submit, name="submit"),
    path("assignments/<int:pk>/review/", views.review_bulk, name="review"),
    path("assignments/<int:pk>/rescore/", views.assignment_rescore, name="rescore"),
    path("assignments/<int:pk>/edit/", views.assignment_edit, name="assignment-edit"),
    path("courses/<int:course_id>/assignments/new/", views.assignment_new, name="assignment-new"),
    path("submissions/<int:pk>/", views.submission_review, name="submission-review"),
]
