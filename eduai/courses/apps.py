from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "eduai.courses"
    label = "courses"
    verbose_name = "Courses"
