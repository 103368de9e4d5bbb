from django.urls import path

from .apis import (
    GradeApproveApi,
    GradeBulkApproveApi,
    GradeOverrideApi,
    ReviewQueueApi,
    SubmissionCreateApi,
    SubmissionDetailApi,
)

app_name = "grading-api"

urlpatterns = [
    path("assignments/<int:pk>/submissions/", SubmissionCreateApi.as_view(), name="submission-create"),
    path("assignments/<int:pk>/review-queue/", ReviewQueueApi.as_view(), name="review-queue"),
    path("assignments/<int:pk>/approve/", GradeBulkApproveApi.as_view(), name="bulk-approve"),
    path("submissions/<int:pk>/", SubmissionDetailApi.as_view(), name="submission"),
    path("submissions/<int:pk>/approve/", GradeApproveApi.as_view(), name="approve"),
    path("submissions/<int:pk>/override/", GradeOverrideApi.as_view(), name="override"),
]
