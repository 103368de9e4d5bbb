from django.urls import path

from .apis import CourseAtRiskApi, CourseMasteryApi, CourseWeeksApi, XapiStatementsApi

app_name = "analytics"

urlpatterns = [
    path("xapi/statements", XapiStatementsApi.as_view(), name="xapi-statements"),
    path("courses/<int:course_id>/weeks", CourseWeeksApi.as_view(), name="course-weeks"),
    path("courses/<int:course_id>/mastery", CourseMasteryApi.as_view(), name="course-mastery"),
    path("courses/<int:course_id>/at-risk", CourseAtRiskApi.as_view(), name="course-at-risk"),
]
