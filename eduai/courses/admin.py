from django.contrib import admin

from .models import Course, Enrollment


class EnrollmentInline(admin.TabularInline[Enrollment, Course]):
    model = Enrollment
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin[Course]):
    list_display = ["title", "label", "lti_context", "created_at"]
    search_fields = ["title", "label"]
    date_hierarchy = "created_at"
    inlines = [EnrollmentInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin[Enrollment]):
    list_display = ["user", "course", "role", "created_at"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email", "course__title", "course__label"]
    autocomplete_fields = ["user", "course"]
